import Foundation

/// The persistent shell of one sandbox. It starts on first use in the workspace folder, runs
/// one command at a time (later calls wait their turn), and keeps its state — working
/// directory, variables, functions — between commands, as a terminal would.
///
/// Each command is sent as `eval '<command>' < /dev/null` followed by a `printf` of a unique
/// marker carrying `$?`; the output up to the marker is the command's. On a timeout or
/// cancellation the shell's whole process group is killed and the next command gets a new shell.
public actor BashSession: SandboxResource {
    public struct Configuration: Sendable {
        /// The shell and its arguments.
        public var arguments: [String]
        /// The shell's whole environment (nothing is inherited from the server).
        public var environment: [String: String]
        /// How much output of one command is kept in memory from its start (the latest 64 KiB
        /// are kept too); what lies between is dropped and counted.
        public var retainedBytes: Int

        public init(arguments: [String] = ["/bin/bash", "--noprofile", "--norc"], environment: [String: String],
                    retainedBytes: Int = 8 << 20) {
            self.arguments = arguments
            self.environment = environment
            self.retainedBytes = retainedBytes
        }
    }

    /// How a command ended.
    public enum Ending: Sendable, Equatable {
        /// It finished with this exit status.
        case exited(Int32)
        /// It outlived its timeout; the shell was killed.
        case timedOut
        /// The calling task was cancelled; the shell was killed.
        case cancelled
        /// The shell itself exited (`exit`, `exec`, killed), with this status when known.
        case shellExited(Int32?)
    }

    /// What a command printed and how it ended.
    public struct Result: Sendable, Equatable {
        /// stdout and stderr as written (interleaved), decoded as UTF-8.
        public var output: String
        /// Bytes dropped from the middle of a very large output.
        public var droppedBytes: Int
        public var ending: Ending
    }

    public let workingDirectory: URL
    public let configuration: Configuration
    private var process: BashProcess?
    private var busy = false
    private var turns: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    public init(workingDirectory: URL, configuration: Configuration) {
        self.workingDirectory = workingDirectory
        self.configuration = configuration
    }

    /// Whether a shell is running now.
    public var isRunning: Bool { process != nil }

    /// The running shell's process id (its process group id too).
    public var processID: Int32? { process?.pid }

    /// Runs `command` to completion, its timeout, or cancellation of the calling task.
    public func run(_ command: String, timeout: Duration) async throws(SandboxError) -> Result {
        guard !command.utf8.contains(0) else { throw SandboxError("bash: the command contains a NUL byte") }
        await takeTurn()
        defer { passTurn() }
        let process = try await startIfNeeded()
        let token = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        // The marker is assembled by printf, so it never appears literally in the shell's input
        // (nor in an `set -x` trace of it).
        let script = "eval -- \(Self.quoted(command)) < /dev/null; printf '\\n%s%s:%d\\n' '__RVR_' '\(token)' \"$?\"\n"
        let marker = Array("\n__RVR_\(token):".utf8)
        do {
            try process.write(script)
        } catch {
            await discard(process)
            return Result(output: "", droppedBytes: 0, ending: .shellExited(process.exitStatus()))
        }

        let output = process.output
        let deadline = ContinuousClock.now + timeout
        let ticker = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(25))
                output.wake()
            }
        }
        defer { ticker.cancel() }
        while true {
            let generation = output.generation
            if let (taken, status) = output.take(through: marker) {
                return Self.result(taken, .exited(status))
            }
            if output.isFinished || process.exitStatus() != nil {
                // Give the reader a moment to collect the last bytes, then stop.
                for _ in 0..<20 where !output.isFinished { try? await Task.sleep(for: .milliseconds(10)) }
                await discard(process)
                return Self.result(output.takeAll(), .shellExited(process.exitStatus()))
            }
            if Task.isCancelled || ContinuousClock.now >= deadline {
                let ending: Ending = Task.isCancelled ? .cancelled : .timedOut
                await discard(process)
                return Self.result(output.takeAll(), ending)
            }
            await output.changed(since: generation)
        }
    }

    /// Kills the shell (and what it started); the next command gets a fresh one.
    public func restart() async throws(SandboxError) {
        await takeTurn()
        defer { passTurn() }
        if let process { await discard(process) }
        _ = try await startIfNeeded()
    }

    /// Kills the shell and everything in its process group; later commands fail.
    public func close() async {
        closed = true
        if let process { await discard(process) }
    }

    private func startIfNeeded() async throws(SandboxError) -> BashProcess {
        if let process {
            if process.exitStatus() == nil { return process }
            await discard(process)
        }
        if closed { throw SandboxError("bash: the session's sandbox is closed") }
        let started = try BashProcess.start(
            arguments: configuration.arguments, environment: configuration.environment,
            retainedBytes: configuration.retainedBytes)
        do throws(SandboxError) {
            try started.write("cd -- \(Self.quoted(workingDirectory.path)) || exit 97\n")
        } catch {
            await started.terminate()
            throw error
        }
        process = started
        return started
    }

    private func discard(_ process: BashProcess) async {
        if self.process === process { self.process = nil }
        await process.terminate()
    }

    private func takeTurn() async {
        if busy {
            await withCheckedContinuation { turns.append($0) }
        } else {
            busy = true
        }
    }

    private func passTurn() {
        if turns.isEmpty { busy = false } else { turns.removeFirst().resume() }
    }

    private static func result(_ taken: BashOutput.Taken, _ ending: Ending) -> Result {
        Result(output: String(decoding: taken.bytes, as: UTF8.self), droppedBytes: taken.droppedBytes, ending: ending)
    }

    /// `text` as one single-quoted shell word.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
