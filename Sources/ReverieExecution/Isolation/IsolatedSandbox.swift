#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Logging
import ReverieCore
import Synchronization

/// One session's running isolated sandbox: the bubblewrap process holding the session's
/// namespaces and, inside it, the tool server that runs its tools. Calls are sent as lines
/// on the tool server's standard input and answered on its standard output.
///
/// Closing it (session deleted, idle eviction, server stop) kills the bubblewrap process;
/// the kernel then ends every process in the sandbox's PID namespace, background ones too.
/// The server dying has the same effect (`--die-with-parent`).
public final class IsolatedSandbox: SandboxResource, Sendable {
    private let logger: Logger
    private let sessionID: String
    private let state = Mutex(State())

    private struct State {
        var process: SandboxProcess?
        var nextID = 1
        var pending: [Int: CheckedContinuation<ToolOutput, Never>] = [:]
        var ready: CheckedContinuation<Bool, Never>?
        var isReady = false
        var ended = false
    }

    private init(sessionID: String, logger: Logger) {
        self.sessionID = sessionID
        self.logger = logger
    }

    /// Starts the sandbox and waits until its tool server is ready.
    public static func start(
        command: BubblewrapCommand, settings: SandboxToolSettings, sessionID: String, startTimeout: Duration = .seconds(20), logger: Logger
    ) async throws(SandboxError) -> IsolatedSandbox {
        let settingsJSON: String
        do {
            settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        } catch {
            throw SandboxError("the sandbox settings could not be encoded")
        }
        let sandbox = IsolatedSandbox(sessionID: sessionID, logger: logger)
        let process = try SandboxProcess.start(command.invocation(settingsJSON: settingsJSON)) { line in
            sandbox.received(line)
        } onErrorLine: { line in
            logger.warning("sandbox", metadata: ["session": "\(sessionID)", "stderr": "\(line)"])
        } onExit: {
            sandbox.ended(reason: "the sandbox exited")
        }
        let killNow = sandbox.state.withLock { state -> Bool in
            state.process = process
            return state.ended
        }
        if killNow { process.kill() }
        let ready = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await sandbox.waitUntilReady() }
            group.addTask {
                try? await Task.sleep(for: startTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard ready else {
            let exited = !sandbox.isRunning
            await sandbox.close()
            throw SandboxError(
                exited ? "the sandbox exited while starting; the server log has its error output" : "the sandbox did not start within \(startTimeout)")
        }
        return sandbox
    }

    /// Whether the sandbox still runs.
    public var isRunning: Bool { state.withLock { !$0.ended } }

    /// Runs one tool call inside; cancelling the calling task stops the call.
    public func run(_ tool: String, input: JSONValue) async -> ToolOutput {
        await call { id in .run(id: id, tool: tool, input: input) }
    }

    /// Runs a rubric's check command inside (`CheckCommand`, in /workspace); cancelling the
    /// calling task stops it.
    public func check(_ command: String, timeout: Duration) async -> CheckResult {
        let seconds = max(1, Int(timeout.components.seconds))
        let output = await call { id in .check(id: id, command: command, timeoutSeconds: seconds) }
        let text = output.content.compactMap { item -> String? in
            if case .text(let text) = item { text } else { nil }
        }.joined()
        guard !output.isError, let result = try? JSONCoding.decode(CheckResult.self, from: Data(text.utf8)) else {
            return .notRun("not run: \(text)")
        }
        return result
    }

    private func call(_ request: @escaping @Sendable (Int) -> SandboxWire.Request) async -> ToolOutput {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let accepted = state.withLock { state -> Bool in
                    if state.ended { return false }
                    state.pending[id] = continuation
                    return true
                }
                guard accepted else {
                    continuation.resume(returning: .error("The session's sandbox has stopped; the next call starts a new one."))
                    return
                }
                send(request(id))
                // Cancelled before the call was sent: its cancel went first; send it again now.
                if Task.isCancelled { send(.cancel(id: id)) }
            }
        } onCancel: {
            send(.cancel(id: id))
        }
    }

    /// Kills the sandbox and everything in it, and waits until it is gone.
    public func close() async {
        let process = state.withLock { $0.process }
        process?.kill()
        ended(reason: "the sandbox was closed")
        guard let process else { return }
        // The kernel ends the sandbox's processes with its PID namespace; wait for that.
        var waited = 0
        while Glibc.kill(process.pid, 0) == 0, waited < 500 {
            try? await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
    }

    // MARK: plumbing

    private func send(_ request: SandboxWire.Request) {
        guard let process = state.withLock({ $0.process }) else { return }
        if !process.write(SandboxWire.encode(request)) {
            ended(reason: "the sandbox's tool server stopped reading")
        }
    }

    private func waitUntilReady() async -> Bool {
        await withCheckedContinuation { continuation in
            let immediate = state.withLock { state -> Bool? in
                if state.isReady { return true }
                if state.ended { return false }
                state.ready = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    private func received(_ line: String) {
        switch SandboxWire.decodeReply(line[...]) {
        case .ready?:
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                state.isReady = true
                defer { state.ready = nil }
                return state.ready
            }
            waiter?.resume(returning: true)
        case .output(let id, let output)?:
            state.withLock { $0.pending.removeValue(forKey: id) }?.resume(returning: output)
        case nil:
            logger.warning("sandbox sent an unreadable line", metadata: ["session": "\(sessionID)"])
        }
    }

    private func ended(reason: String) {
        let (pending, waiter) = state.withLock { state -> ([CheckedContinuation<ToolOutput, Never>], CheckedContinuation<Bool, Never>?) in
            state.ended = true
            defer {
                state.pending = [:]
                state.ready = nil
            }
            return (Array(state.pending.values), state.ready)
        }
        waiter?.resume(returning: false)
        for continuation in pending {
            continuation.resume(returning: .error("The tool call did not finish: \(reason). The next call starts a new sandbox."))
        }
    }
}

/// Reads lines from a file descriptor on a thread of its own.
enum LineReader {
    static func start(_ descriptor: Int32, onLine: @escaping @Sendable (String) -> Void, onEnd: @escaping @Sendable () -> Void) {
        let thread = Thread {
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 65536) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                buffer.append(contentsOf: chunk[0..<count])
                var start = 0
                while let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    onLine(String(decoding: buffer[start..<newline], as: UTF8.self))
                    start = newline + 1
                }
                buffer.removeSubrange(0..<start)
            }
            onEnd()
        }
        thread.start()
    }
}
