import Foundation
import ReverieExecution

/// Runs a rubric's check command in the session's workspace and reports its exit status.
enum CheckRunner {
    struct Result: Sendable {
        var exitCode: Int32
        var output: String
        var timedOut: Bool
    }

    static let outputLimit = 4000

    static func run(_ command: String, in folder: URL, outputs: URL, timeout: Duration = .seconds(120)) async -> Result {
        // The same virtual paths the agent uses name the same folders here.
        let translated = command
            .replacingOccurrences(of: "/mnt/session/outputs", with: outputs.path)
            .replacingOccurrences(of: "/workspace", with: folder.path)
        let check: ChildProcess
        do {
            // Its own process group, so that a timeout ends what the command started too.
            check = try ChildProcess.start(
                "/bin/bash", arguments: ["-c", translated], directory: folder.path, output: .collect, errors: .intoOutput, ownProcessGroup: true)
        } catch {
            return Result(exitCode: 127, output: "could not start: \(error)", timedOut: false)
        }
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            check.signal(SIGKILL)
        }
        let ended = await check.termination()
        watchdog.cancel()
        let timedOut = ended.signal == SIGKILL
        let data = ended.output
        var output = String(decoding: data, as: UTF8.self)
        if output.count > outputLimit { output = String(output.suffix(outputLimit)) }
        return Result(exitCode: ended.status, output: output, timedOut: timedOut)
    }
}
