import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieRuntime
import Synchronization

/// `reverie worker`: serves the tool calls of a `self_hosted` environment's sessions. Polls
/// the environment's work queue on a Reverie server (local or remote) with an environment key,
/// and runs each claimed session's built-in tools in a bubblewrap sandbox on this machine.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve a self_hosted environment's tool calls: poll its work queue and run the tools in a local sandbox.",
        discussion: """
            Each claimed session's files live under --data-dir/sessions/<session id>; its tools run in a \
            bubblewrap sandbox over that folder. The worker holds each item's lease with heartbeats, and \
            stops the item once the session's turn has been over for --max-idle seconds. Two workers on \
            one queue never serve the same item at once. See docs/workers.md.
            """)

    @Option(help: "The server's base URL (default: $REVERIE_URL or http://127.0.0.1:8080).")
    var url = ProcessInfo.processInfo.environment["REVERIE_URL"] ?? "http://127.0.0.1:8080"

    @Option(help: "The self_hosted environment to serve (env_…; default: $REVERIE_ENVIRONMENT).")
    var environment = ProcessInfo.processInfo.environment["REVERIE_ENVIRONMENT"] ?? ""

    @Option(help: "The environment key (default: $REVERIE_ENVIRONMENT_KEY). Prefer the variable: arguments are visible to other users.")
    var key = ProcessInfo.processInfo.environment["REVERIE_ENVIRONMENT_KEY"] ?? ""

    @Option(help: "How many sessions to serve at once.")
    var concurrency = 4

    @Option(name: .customLong("data-dir"), help: "Where the sessions' files live on this machine.")
    var dataDirectory = ".reverie-worker"

    @Option(help: "bubblewrap (default) or none (tools run unisolated, as this user: development only).")
    var sandbox = "bubblewrap"

    @Option(help: "The sandbox's network: none (default) or unrestricted (through the egress proxy, public addresses only).")
    var network = "none"

    @Option(name: .customLong("max-idle"), help: "Seconds to stay on a session after its turn ends before releasing it.")
    var maxIdleSeconds: Double = 5

    @Option(name: .customLong("worker-id"), help: "This worker's id, sent with each poll (default: host name and a random suffix).")
    var workerID: String?

    @Flag(help: "Log every item claimed and finished.")
    var verbose = false

    func validate() throws {
        guard !environment.isEmpty else { throw ValidationError("--environment (or REVERIE_ENVIRONMENT) is required") }
        guard !key.isEmpty else { throw ValidationError("--key (or REVERIE_ENVIRONMENT_KEY) is required") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard ["bubblewrap", "none"].contains(sandbox) else { throw ValidationError("--sandbox must be bubblewrap or none") }
        guard ["none", "unrestricted"].contains(network) else { throw ValidationError("--network must be none or unrestricted") }
        guard maxIdleSeconds >= 0 else { throw ValidationError("--max-idle must not be negative") }
    }

    func run() async throws {
        var logger = Logger(label: "reverie.worker")
        logger.logLevel = verbose ? .info : .warning
        var isolation = IsolationSettings(mode: sandbox == "none" ? .none : .bubblewrap)
        if isolation.mode == .bubblewrap, let problem = await SandboxProbe.check(isolation, logger: logger) {
            throw CommandFailure("the sandbox cannot be made here (\(problem)); install bubblewrap, or pass --sandbox none (unsafe, development only)")
        }
        isolation.egressAllowedNetworks = []
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let id = workerID ?? "\(ProcessInfo.processInfo.hostName)-\(UUID().uuidString.prefix(12).lowercased())"
        let http = WorkQueueClient.makeHTTPClient(slots: concurrency)
        let client = WorkQueueClient(baseURL: base, environmentID: environment, workerID: id, http: http)
        let server = WorkItemServer(client: client, key: key, maxIdle: .milliseconds(Int64(maxIdleSeconds * 1000)), logger: logger)
        let planes = WorkerPlanes(
            client: client, dataDirectory: dataDirectory, isolation: isolation,
            egress: EgressPolicy(mode: network == "unrestricted" ? .unrestricted : .none), logger: logger)
        FileHandle.standardError.write(Data("reverie worker \(id) serving \(environment) at \(base) (\(concurrency) at once)\n".utf8))
        let (key, workerLogger) = (self.key, logger)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask { try await Self.serveForever(client: client, server: server, planes: planes, key: key, logger: workerLogger) }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    /// One slot: poll, serve what comes, repeat. A refused key ends the worker.
    static func serveForever(client: WorkQueueClient, server: WorkItemServer, planes: WorkerPlanes, key: String, logger: Logger) async throws {
        var backoff: Duration = .milliseconds(250)
        while !Task.isCancelled {
            let item: JSONValue?
            do {
                item = try await client.poll(key: key, blockMilliseconds: 999)
                backoff = .milliseconds(250)
            } catch let failure as WorkQueueClient.Failure where failure.isPermanent {
                throw CommandFailure("the server refused to poll: \(failure)")
            } catch {
                logger.warning("poll failed", metadata: ["error": "\(error)"])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
                continue
            }
            guard let item else { continue }
            logger.info("claimed work", metadata: ["work": "\(item["id"]?.stringValue ?? "")", "session": "\(item["data"]?["id"]?.stringValue ?? "")"])
            let ending = await server.serve(item) { sessionID, credential in try await planes.plane(sessionID: sessionID, credential: credential) }
            if let sessionID = item["data"]?["id"]?.stringValue { await planes.release(sessionID: sessionID) }
            logger.info("work ended", metadata: ["work": "\(item["id"]?.stringValue ?? "")", "ending": "\(ending)"])
        }
    }
}

/// The sandboxes of the sessions a worker serves, each over its folder under the data directory,
/// with the session's memory stores mirrored into folders its tools see at their mount paths and
/// its agent's skills at `/mnt/skills/<name>`.
final class WorkerPlanes: Sendable {
    let client: WorkQueueClient
    let dataDirectory: String
    let isolation: IsolationSettings
    let egress: EgressPolicy
    let logger: Logger
    private let sandboxes = Mutex<[String: Sandbox]>([:])

    init(client: WorkQueueClient, dataDirectory: String, isolation: IsolationSettings, egress: EgressPolicy, logger: Logger) {
        self.client = client
        self.dataDirectory = dataDirectory
        self.isolation = isolation
        self.egress = egress
        self.logger = logger
    }

    /// The plane that runs `sessionID`'s tools; `credential` (the item's sessions token) reads
    /// the session and syncs its memory stores.
    func plane(sessionID: String, credential: String) async throws -> any ExecutionPlane {
        let folder = Sandbox.sessionFolder(dataDirectory: dataDirectory, sessionID: sessionID)
        let session = try await client.session(sessionID, credential: credential)
        let mounts = MemoryMirror.mounts(Self.memoryStores(of: session), sessionFolder: folder)
        let existing = sandboxes.withLock { $0[sessionID] }
        let volumes = existing != nil ? [] : try MemoryMirror.volumes(of: mounts)
            + (try await WorkerSkills(client: client, credential: credential).volumes(for: session, sessionFolder: folder))
        let sandbox = try sandboxes.withLock { sandboxes in
            if let existing = sandboxes[sessionID] { return existing }
            let made = try Sandbox(sessionID: sessionID, folder: folder, extraVolumes: volumes)
            sandboxes[sessionID] = made
            return made
        }
        let tools = BuiltinTools.tools(for: AgentToolset())
        let base: any ExecutionPlane
        if isolation.mode == .none {
            base = LocalExecutionPlane(sandbox: sandbox, tools: tools)
        } else {
            let egress = self.egress
            base = IsolatedExecutionPlane(
                sandbox: sandbox, tools: tools, configuration: BuiltinTools.Configuration(), settings: isolation, egress: { egress }, logger: logger)
        }
        guard !mounts.isEmpty else { return base }
        let (client, isolation, logger) = (client, isolation, logger)
        let mirror = try sandbox.resource(MemoryMirror.key) {
            MemoryMirror(
                memory: RemoteMemorySync(client: client, credential: credential), sessionID: sessionID, mounts: mounts,
                workspace: sandbox.workspace.root, owner: isolation.mode == .bubblewrap ? isolation.hostUser(for: sessionID) : nil, logger: logger)
        }
        return MemoryMirroringPlane(base: base, mirror: mirror)
    }

    /// The session's `memory_store` resources, as the API shows them.
    static func memoryStores(of session: JSONValue) -> [MemoryStoreMount] {
        (session["resources"]?.arrayValue ?? []).compactMap { resource in
            guard resource["type"]?.stringValue == "memory_store", let storeID = resource["memory_store_id"]?.stringValue else { return nil }
            return MemoryStoreMount(
                memoryStoreID: storeID, access: MemoryAccess(rawValue: resource["access"]?.stringValue ?? "") ?? .readOnly,
                instructions: nil, mountPath: resource["mount_path"]?.stringValue)
        }
    }

    /// Closes the session's sandbox (its files stay) once its item is done.
    func release(sessionID: String) async {
        let sandbox = sandboxes.withLock { $0.removeValue(forKey: sessionID) }
        await sandbox?.close()
    }
}
