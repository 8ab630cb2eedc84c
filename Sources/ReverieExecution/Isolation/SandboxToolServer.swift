#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import ReverieCore
import Synchronization

/// The tool server that runs inside a session's isolated sandbox (`reverie sandbox-tools`):
/// it reads calls from standard input, runs each built-in tool here — where `/workspace`,
/// `/mnt/session/outputs` and `/mnt/memory/<slug>` are the real folders and nothing else of
/// the host exists — and writes each result to standard output (see `SandboxWire`). Calls run
/// concurrently (threads of one session share the sandbox); bash keeps one shell.
public enum SandboxToolServer {
    /// Serves until standard input closes (the server went away), then stops every process.
    public static func run(settings: SandboxToolSettings) async throws {
        let refused = settings.limits.apply()
        let sandbox = try Sandbox(
            sessionID: "sandbox", workspace: try DiskVolume(mountPoint: Sandbox.workspaceMount, root: URL(fileURLWithPath: Sandbox.workspaceMount)),
            outputs: try DiskVolume(mountPoint: Sandbox.outputsMount, root: URL(fileURLWithPath: Sandbox.outputsMount)),
            extraVolumes: try settings.mounts.map {
                try DiskVolume(mountPoint: $0.mountPoint, root: URL(fileURLWithPath: $0.mountPoint), isReadOnly: $0.readOnly)
            })
        var tools = BuiltinTools.Configuration(bash: settings.bash)
        var forwarder: LoopbackForwarder?
        if let port = settings.proxyPort {
            // Tools reach the server's egress proxy through 127.0.0.1:<port> in here.
            let started = LoopbackForwarder(proxySocketPath: SandboxPaths.proxySocket, port: port)
            try await started.start()
            forwarder = started
            let proxy = "http://127.0.0.1:\(port)"
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"] {
                tools.bash.environment[name] = tools.bash.environment[name] ?? proxy
            }
            for name in ["NO_PROXY", "no_proxy"] { tools.bash.environment[name] = tools.bash.environment[name] ?? "localhost,127.0.0.1,::1" }
        }
        let catalog: [String: any SandboxTool] = Dictionary(uniqueKeysWithValues: SandboxedTools.names.map { name in
            (name.rawValue, BuiltinTools.tool(name, configuration: tools))
        })
        let output = ReplyWriter()
        if !refused.isEmpty {
            FileHandle.standardError.write(Data("reverie sandbox-tools: could not set limits: \(refused.joined(separator: ", "))\n".utf8))
        }
        output.send(.ready)
        let running = RunningCalls()
        for await line in StandardInputLines.stream() {
            switch SandboxWire.decodeRequest(line[...]) {
            case .run(let id, let tool, let input)?:
                let task = Task {
                    let result: ToolOutput
                    if let implementation = catalog[tool] {
                        result = await implementation.run(input, in: sandbox)
                    } else {
                        result = .error("unknown tool '\(tool)'")
                    }
                    running.remove(id)
                    output.send(.output(id: id, result))
                }
                running.add(id, task)
            case .check(let id, let command, let seconds)?:
                let environment = tools.bash.shellEnvironment(home: Sandbox.workspaceMount)
                let task = Task {
                    let result = await CheckCommand.run(command, in: Sandbox.workspaceMount, environment: environment, timeout: .seconds(seconds))
                    let text = (try? JSONCoding.string(result)) ?? #"{"exit_code":127,"output":"the check's result could not be encoded","timed_out":false}"#
                    running.remove(id)
                    output.send(.output(id: id, .text(text)))
                }
                running.add(id, task)
            case .cancel(let id)?:
                running.cancel(id)
            case nil:
                continue
            }
        }
        running.cancelAll()
        await sandbox.close()
        await forwarder?.stop()
    }
}

/// The built-in tools that run inside an isolated sandbox (the web tools do not touch files
/// and run in the server).
public enum SandboxedTools {
    public static let names: [BuiltinToolName] = [.bash, .read, .write, .edit, .glob, .grep]
}

/// The calls in progress, by id. A cancel that arrives before its call (or while the call's
/// task is being registered) is remembered and applied when the call arrives.
private final class RunningCalls: Sendable {
    private struct State {
        var tasks: [Int: Task<Void, Never>] = [:]
        var cancelled: Set<Int> = []
    }

    private let state = Mutex(State())

    func add(_ id: Int, _ task: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            if state.cancelled.remove(id) != nil { return true }
            state.tasks[id] = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    func remove(_ id: Int) { _ = state.withLock { $0.tasks.removeValue(forKey: id) } }

    func cancel(_ id: Int) {
        let task = state.withLock { state -> Task<Void, Never>? in
            if let task = state.tasks[id] { return task }
            state.cancelled.insert(id)
            return nil
        }
        task?.cancel()
    }

    func cancelAll() { for task in state.withLock({ Array($0.tasks.values) }) { task.cancel() } }
}

/// Writes reply lines to standard output, one at a time.
private final class ReplyWriter: Sendable {
    private let lock = Mutex(())

    func send(_ reply: SandboxWire.Reply) {
        let data = Data(SandboxWire.encode(reply).utf8)
        lock.withLock { _ in FileHandle.standardOutput.write(data) }
    }
}

/// The lines of standard input.
enum StandardInputLines {
    static func stream() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        LineReader.start(STDIN_FILENO, onLine: { continuation.yield($0) }, onEnd: { continuation.finish() })
        return stream
    }
}
