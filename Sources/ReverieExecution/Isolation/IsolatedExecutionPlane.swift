#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Logging
import ReverieCore
import ReverieModels

/// Runs a session's built-in tools inside its isolated sandbox (`IsolatedSandbox`), started
/// on the first call and kept, attached to the session's `Sandbox`, until the sandbox is
/// closed; a sandbox that died is started again on the next call. The web tools, which touch
/// no files, run in the server.
public struct IsolatedExecutionPlane: ExecutionPlane {
    /// The session's files as the server sees them.
    public let sandbox: Sandbox
    private let settings: IsolationSettings
    private let configuration: BuiltinTools.Configuration
    private let implementations: [String: any SandboxTool]
    private let logger: Logger
    public let tools: [String: ToolDefinition]

    /// `tools`: the enabled built-in tools (their definitions are what the model is shown;
    /// the ones that touch files run inside the sandbox).
    public init(sandbox: Sandbox, tools: [String: any SandboxTool], configuration: BuiltinTools.Configuration, settings: IsolationSettings,
                logger: Logger) {
        self.sandbox = sandbox
        self.settings = settings
        self.configuration = configuration
        self.implementations = tools
        self.logger = logger
        self.tools = tools.mapValues(\.definition)
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        guard let tool = implementations[call.name] else { return .error("unknown tool '\(call.name)'") }
        guard SandboxedTools.names.contains(where: { $0.rawValue == call.name }) else { return await tool.run(call.input, in: sandbox) }
        do {
            let slot = try sandbox.resource(IsolatedSandboxSlot.key) {
                IsolatedSandboxSlot(sandbox: sandbox, settings: settings, configuration: configuration, logger: logger)
            }
            return try await slot.running().run(call.name, input: call.input)
        } catch {
            return .error(error.message)
        }
    }
}

/// The running isolated sandbox of a session, started when first needed.
actor IsolatedSandboxSlot: SandboxResource {
    static let key = "isolated-sandbox"
    let sandbox: Sandbox
    let settings: IsolationSettings
    let configuration: BuiltinTools.Configuration
    let logger: Logger
    private var current: IsolatedSandbox?
    private var closed = false

    init(sandbox: Sandbox, settings: IsolationSettings, configuration: BuiltinTools.Configuration, logger: Logger) {
        self.sandbox = sandbox
        self.settings = settings
        self.configuration = configuration
        self.logger = logger
    }

    /// The running sandbox, started (again) when there is none.
    func running() async throws(SandboxError) -> IsolatedSandbox {
        if closed { throw SandboxError("the session's sandbox is closed") }
        if let current, current.isRunning { return current }
        let started = try await start()
        if closed {
            await started.close()
            throw SandboxError("the session's sandbox is closed")
        }
        current = started
        return started
    }

    func close() async {
        closed = true
        await current?.close()
        current = nil
    }

    private func start() async throws(SandboxError) -> IsolatedSandbox {
        let session = sandbox.workspace.root.deletingLastPathComponent()
        let hostUser = settings.hostUser(for: sandbox.sessionID)
        let files = try Self.writeSystemFiles(in: session.appendingPathComponent(".sandbox"), uid: hostUser ?? SandboxPaths.uid)
        var memory: [(host: String, mountPoint: String, readOnly: Bool)] = []
        var mounts: [SandboxToolSettings.Mount] = []
        for volume in sandbox.memoryVolumes {
            guard let root = volume.hostRoot else { continue }
            memory.append((root.path, volume.mountPoint, volume.isReadOnly))
            mounts.append(SandboxToolSettings.Mount(mountPoint: volume.mountPoint, readOnly: volume.isReadOnly))
        }
        if let hostUser {
            for folder in [sandbox.workspace.root, sandbox.outputs.root] + memory.map({ URL(fileURLWithPath: $0.host) }) {
                SandboxOwnership.give(folder, to: hostUser)
            }
        }
        let command = BubblewrapCommand(
            bubblewrap: settings.bubblewrap, toolServer: settings.toolServer, libraryFolders: IsolationSettings.libraryFolders(of: settings.toolServer),
            hostUser: hostUser.map { (settings.setpriv, $0) },
            folders: BubblewrapCommand.Folders(
                workspace: sandbox.workspace.root.path, outputs: sandbox.outputs.root.path, memory: memory, files: files),
            tmpBytes: settings.limits.tmpBytes)
        let toolSettings = SandboxToolSettings(tools: configuration, mounts: mounts, limits: settings.limits)
        return try await IsolatedSandbox.start(command: command, settings: toolSettings, sessionID: sandbox.sessionID, logger: logger)
    }

    /// The sandbox's own `/etc/passwd`, `/etc/group` and `/etc/hosts`: one user, `sandbox`.
    static func writeSystemFiles(in folder: URL, uid: UInt32) throws(SandboxError) -> [(host: String, path: String)] {
        let contents = [
            ("passwd", "/etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:\(uid):\(uid):sandbox:\(SandboxPaths.workspace):/bin/bash\n"),
            ("group", "/etc/group", "root:x:0:\nsandbox:x:\(uid):\n"),
            ("hosts", "/etc/hosts", "127.0.0.1 localhost sandbox\n::1 localhost\n"),
        ]
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return try contents.map { name, path, text in
                let file = folder.appendingPathComponent(name)
                try Data(text.utf8).write(to: file)
                return (file.path, path)
            }
        } catch {
            throw SandboxError("the sandbox's files could not be written: \(error.localizedDescription)")
        }
    }
}

/// Gives a session's folders to the host user its sandbox runs as.
enum SandboxOwnership {
    /// Makes `folder` and everything in it owned by `uid` (not following links).
    static func give(_ folder: URL, to uid: UInt32) {
        _ = lchown(folder.path, uid, uid)
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return }
        for case let relative as String in walker {
            _ = lchown(folder.appendingPathComponent(relative).path, uid, uid)
        }
    }
}
