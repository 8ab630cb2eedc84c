#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// Runs a rubric's check command with `bash -c` in a fresh shell (never the agent's, whose
/// functions and aliases the agent controls), in a process group of its own that a timeout
/// or a cancellation kills whole. Where it runs is the execution plane's choice: inside the
/// session's sandbox when tools are isolated.
public enum CheckCommand {
    public static let outputLimit = 4000
    public static let defaultTimeout: Duration = .seconds(120)

    /// - Parameters:
    ///   - directory: the working directory (the session's workspace).
    ///   - environment: exactly the shell's environment; nil passes this process's.
    public static func run(_ command: String, in directory: String, environment: [String: String]?, timeout: Duration) async -> CheckResult {
        let check: ChildProcess
        do {
            check = try ChildProcess.start(
                "/bin/bash", arguments: ["-c", command], environment: environment, directory: directory, output: .collect, errors: .intoOutput,
                ownProcessGroup: true)
        } catch {
            return .notRun("could not start: \(error)")
        }
        let expired = Mutex(false)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            expired.withLock { $0 = true }
            check.signal(SIGKILL)
        }
        let ended = await withTaskCancellationHandler {
            await check.termination()
        } onCancel: {
            check.signal(SIGKILL)
        }
        watchdog.cancel()
        var output = String(decoding: ended.output, as: UTF8.self)
        if output.count > outputLimit { output = String(output.suffix(outputLimit)) }
        return CheckResult(exitCode: ended.status, output: output, timedOut: expired.withLock { $0 })
    }
}
