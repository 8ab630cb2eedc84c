import Foundation

/// Runs a rubric's check command in the session's workspace and reports its exit status.
enum CheckRunner {
    struct Result: Sendable {
        var exitCode: Int32
        var output: String
        var timedOut: Bool
    }

    static let outputLimit = 4000

    static func run(_ command: String, in folder: URL, outputs: URL, timeout: Duration = .seconds(120)) async -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        // The same virtual paths the agent uses name the same folders here.
        let translated = command
            .replacingOccurrences(of: "/mnt/session/outputs", with: outputs.path)
            .replacingOccurrences(of: "/workspace", with: folder.path)
        process.arguments = ["-c", translated]
        process.currentDirectoryURL = folder
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            return Result(exitCode: 127, output: "could not start: \(error.localizedDescription)", timedOut: false)
        }
        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        let watchdog = Task.detached {
            try? await Task.sleep(for: timeout)
            if process.isRunning { process.terminate() }
        }
        let data = await reader.value
        process.waitUntilExit()
        watchdog.cancel()
        let timedOut = process.terminationReason == .uncaughtSignal
        var output = String(decoding: data, as: UTF8.self)
        if output.count > outputLimit { output = String(output.suffix(outputLimit)) }
        return Result(exitCode: process.terminationStatus, output: output, timedOut: timedOut)
    }
}
