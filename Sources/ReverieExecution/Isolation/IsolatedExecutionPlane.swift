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
    private let egress: @Sendable () async -> EgressPolicy
    private let network: SandboxNetwork
    private let logger: Logger
    public let tools: [String: ToolDefinition]

    /// `tools`: the enabled built-in tools (their definitions are what the model is shown;
    /// the ones that touch files run inside the sandbox). `egress` gives the session's network
    /// policy when its sandbox starts; `network` its credentials and how its proxy works.
    public init(sandbox: Sandbox, tools: [String: any SandboxTool], configuration: BuiltinTools.Configuration, settings: IsolationSettings,
                egress: @escaping @Sendable () async -> EgressPolicy = { EgressPolicy(mode: .none) }, network: SandboxNetwork = SandboxNetwork(),
                logger: Logger) {
        self.sandbox = sandbox
        self.settings = settings
        self.configuration = configuration
        self.implementations = tools
        self.egress = egress
        self.network = network
        self.logger = logger
        self.tools = tools.mapValues(\.definition)
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        guard let tool = implementations[call.name] else { return .error("unknown tool '\(call.name)'") }
        guard SandboxedTools.names.contains(where: { $0.rawValue == call.name }) else { return await tool.run(call.input, in: sandbox) }
        do {
            let slot = try sandbox.resource(IsolatedSandboxSlot.key) {
                IsolatedSandboxSlot(
                    sandbox: sandbox, settings: settings, configuration: configuration, egress: egress, network: network, logger: logger)
            }
            return try await slot.running().run(call.name, input: call.input)
        } catch {
            return .error(error.message)
        }
    }

    /// Runs the check inside the session's sandbox (started if it is not running), in a fresh
    /// shell with the tools' environment, where the virtual paths are the real folders.
    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        do {
            let slot = try sandbox.resource(IsolatedSandboxSlot.key) {
                IsolatedSandboxSlot(
                    sandbox: sandbox, settings: settings, configuration: configuration, egress: egress, network: network, logger: logger)
            }
            return try await slot.running().check(command, timeout: timeout)
        } catch {
            return .notRun("not run: \(error.message)")
        }
    }
}

/// The running isolated sandbox of a session, started when first needed.
actor IsolatedSandboxSlot: SandboxResource {
    static let key = "isolated-sandbox"
    let sandbox: Sandbox
    let settings: IsolationSettings
    let configuration: BuiltinTools.Configuration
    let egress: @Sendable () async -> EgressPolicy
    let network: SandboxNetwork
    let logger: Logger
    private var current: IsolatedSandbox?
    /// The start in progress: calls that arrive meanwhile (threads share a sandbox) wait for it
    /// rather than start another.
    private var starting: Task<IsolatedSandbox, any Error>?
    private var proxy: EgressProxy?
    /// The session's credentials, read once with its proxy: their placeholders stay the same
    /// when the sandbox is started again.
    private var credentials: [EgressCredential] = []
    private var closed = false

    /// The port tools inside reach the egress proxy on (through the tool server's forwarder).
    static let proxyPort = 3128

    init(sandbox: Sandbox, settings: IsolationSettings, configuration: BuiltinTools.Configuration,
         egress: @escaping @Sendable () async -> EgressPolicy, network: SandboxNetwork, logger: Logger) {
        self.sandbox = sandbox
        self.settings = settings
        self.configuration = configuration
        self.egress = egress
        self.network = network
        self.logger = logger
    }

    /// The running sandbox, started (again) when there is none.
    func running() async throws(SandboxError) -> IsolatedSandbox {
        if closed { throw SandboxError("the session's sandbox is closed") }
        if let current, current.isRunning { return current }
        let start = starting ?? Task { try await self.start() }
        starting = start
        let started: IsolatedSandbox
        do {
            started = try await start.value
        } catch {
            if starting == start { starting = nil }
            throw (error as? SandboxError) ?? SandboxError("the sandbox could not start")
        }
        if starting == start { starting = nil }
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
        await proxy?.stop()
        proxy = nil
    }

    private func start() async throws(SandboxError) -> IsolatedSandbox {
        let session = sandbox.workspace.root.deletingLastPathComponent()
        let hostUser = settings.hostUser(for: sandbox.sessionID)
        let files = try Self.writeSystemFiles(in: session.appendingPathComponent(".sandbox"), uid: hostUser ?? SandboxPaths.uid)
        var memory: [(host: String, mountPoint: String, readOnly: Bool)] = []
        var mounts: [SandboxToolSettings.Mount] = []
        for volume in sandbox.extraVolumes {
            guard let root = volume.hostRoot else { continue }
            memory.append((root.path, volume.mountPoint, volume.isReadOnly))
            mounts.append(SandboxToolSettings.Mount(mountPoint: volume.mountPoint, readOnly: volume.isReadOnly))
        }
        if let hostUser {
            // Mounted files are read-only links to shared content: they keep their owner.
            let owned = sandbox.memoryVolumes.compactMap(\.hostRoot)
            for folder in [sandbox.workspace.root, sandbox.outputs.root] + owned {
                SandboxOwnership.give(folder, to: hostUser)
            }
        }
        let socket = try await startProxy(at: try Self.proxySocket(for: sandbox.sessionID), owner: hostUser)
        let caBundle = socket == nil ? nil : network.interception?.authority.sandboxBundlePath
        let command = BubblewrapCommand(
            bubblewrap: settings.bubblewrap, toolServer: settings.toolServer, libraryFolders: IsolationSettings.libraryFolders(of: settings.toolServer),
            hostUser: hostUser.map { (settings.setpriv, $0) },
            folders: BubblewrapCommand.Folders(
                workspace: sandbox.workspace.root.path, outputs: sandbox.outputs.root.path, memory: memory, files: files, proxySocket: socket,
                caBundle: caBundle),
            tmpBytes: settings.limits.tmpBytes)
        var toolSettings = SandboxToolSettings(
            tools: configuration, mounts: mounts, limits: settings.limits, proxyPort: socket == nil ? nil : Self.proxyPort)
        if caBundle != nil {
            // curl, OpenSSL (python's ssl), requests and node trust the bundle with the installation's CA.
            for name in ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
                toolSettings.bashEnvironment[name] = toolSettings.bashEnvironment[name] ?? SandboxPaths.caBundle
            }
        }
        // Each credential's variable holds its placeholder; the secret stays with the proxy.
        for credential in credentials { toolSettings.bashEnvironment[credential.name] = credential.placeholder }
        return try await IsolatedSandbox.start(command: command, settings: toolSettings, sessionID: sandbox.sessionID, logger: logger)
    }

    /// Starts the session's egress proxy on a Unix socket (once per slot; nil when the policy
    /// allows no network, and the sandbox then has none at all).
    private func startProxy(at socket: URL, owner: UInt32?) async throws(SandboxError) -> String? {
        if proxy != nil { return socket.path }
        let policy = await egress()
        if case .none = policy.mode { return nil }
        let read: [EgressCredential]
        do {
            read = try await network.credentials()
        } catch {
            // Fail closed: a sandbox whose credentials cannot be read does not start.
            throw SandboxError("the session's credentials could not be read")
        }
        var usable: [EgressCredential] = []
        for credential in read {
            if credential.hasUsableName, !usable.contains(where: { $0.name == credential.name }) {
                usable.append(credential)
            } else {
                logger.warning("credential not given to the sandbox: its name is reserved, invalid or repeated", metadata: [
                    "session": "\(sandbox.sessionID)", "credential": "\(credential.name)",
                ])
            }
        }
        if !usable.isEmpty, network.interception == nil {
            logger.warning("no egress CA: credentials are substituted in http:// requests only", metadata: ["session": "\(sandbox.sessionID)"])
        }
        // Rotations and revocations reach the running proxy (within its refresh interval).
        let source = network.credentials
        let started = EgressProxy(
            sessionID: sandbox.sessionID, policy: policy, resolver: network.resolver, credentials: usable, refreshCredentials: { try await source() },
            interception: network.interception, logger: logger)
        do {
            try await started.start(socketPath: socket.path)
        } catch {
            throw SandboxError("the sandbox's network proxy could not start: \(error)")
        }
        // Only the sandbox's user (and the server) may connect.
        if let owner { _ = lchown(socket.path, owner, owner) }
        _ = chmod(socket.path, owner == nil ? 0o600 : 0o660)
        proxy = started
        credentials = usable
        return socket.path
    }

    /// Where a session's egress proxy listens: a short path (Unix socket paths are limited to
    /// about 100 bytes) in a folder of this process's own that others can pass through but not list.
    static func proxySocket(for sessionID: String) throws(SandboxError) -> URL {
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reverie-egress-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        } catch {
            throw SandboxError("the sandbox's network proxy has no folder for its socket: \(error.localizedDescription)")
        }
        return folder.appendingPathComponent(String(SessionHash.of(sessionID), radix: 16) + ".sock")
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
