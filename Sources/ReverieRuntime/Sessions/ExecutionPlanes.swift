import Foundation
import Logging
import ReverieCore
import ReverieExecution

/// Makes each session's execution plane as the server is configured: its built-in tools in
/// an isolated bubblewrap sandbox (or, with `--sandbox none`, in this process), its memory
/// stores mirrored into folders every tool sees.
public struct ExecutionPlanes: Sendable {
    let tools: BuiltinTools.Configuration
    let isolation: IsolationSettings
    let memory: MemoryService
    let environments: EnvironmentService
    let dataDirectory: String
    /// Where sessions of `self_hosted` environments wait for workers.
    let workQueue: WorkQueue
    /// The sessions' `environment_variable` credentials, substituted by their egress proxies.
    let credentials: any SessionEgressCredentialSource
    /// The installation's egress CA and upstream trust (nil: HTTPS is never intercepted).
    let interception: EgressInterception?
    let logger: Logger

    public init(
        tools: BuiltinTools.Configuration, isolation: IsolationSettings, memory: MemoryService, environments: EnvironmentService, dataDirectory: String,
        workQueue: WorkQueue, credentials: any SessionEgressCredentialSource = NoEgressCredentials(), interception: EgressInterception? = nil,
        logger: Logger
    ) {
        self.workQueue = workQueue
        self.credentials = credentials
        self.interception = interception
        self.tools = tools
        self.isolation = isolation
        self.memory = memory
        self.environments = environments
        self.dataDirectory = dataDirectory
        self.logger = logger
    }

    /// The plane for `session`'s agent in its sandbox: the environment's workers for a
    /// `self_hosted` environment, else the sandbox on this machine.
    public func plane(for session: Session, in sandbox: Sandbox) async -> any ExecutionPlane {
        let enabled = session.agent.builtinToolset.map { BuiltinTools.tools(for: $0, configuration: tools) } ?? [:]
        let config: EnvironmentConfig
        do {
            config = try await environments.environment(id: session.environmentID).config
        } catch {
            // Never fall back to running here what may belong on a worker.
            logger.error("session's environment could not be read", metadata: ["session": "\(session.id)", "error": "\(error)"])
            return RefusingExecutionPlane(tools: enabled.mapValues(\.definition), reason: "the session's environment could not be read")
        }
        if config == .selfHosted {
            let (workQueue, environmentID) = (self.workQueue, session.environmentID)
            return WorkerExecutionPlane(tools: enabled.mapValues(\.definition)) { sessionID in
                try await workQueue.demand(sessionID: sessionID, environmentID: environmentID)
            }
        }
        let base: any ExecutionPlane
        switch isolation.mode {
        case .bubblewrap:
            let (environments, environmentID, agent, networks) = (environments, session.environmentID, session.agent, isolation.egressAllowedNetworks)
            let credentials = self.credentials
            base = IsolatedExecutionPlane(
                sandbox: sandbox, tools: enabled, configuration: tools, settings: isolation,
                egress: {
                    EnvironmentEgress.policy(for: try? await environments.environment(id: environmentID).config, agent: agent, allowedNetworks: networks)
                },
                network: SandboxNetwork(credentials: { try await credentials.credentials(for: session) }, interception: interception),
                logger: logger)
        case .none:
            logger.warning("tools run without a sandbox (--sandbox none): unsafe, for development only", metadata: ["session": "\(session.id)"])
            base = LocalExecutionPlane(sandbox: sandbox, tools: enabled)
        case .unavailable(let reason):
            base = RefusingExecutionPlane(tools: enabled.mapValues(\.definition), reason: reason)
        }
        let mounts = MemoryMirror.mounts(for: session, sessionFolder: Self.folder(of: sandbox))
        guard !mounts.isEmpty else { return base }
        let owner = isolation.mode == .bubblewrap ? isolation.hostUser(for: session.id) : nil
        do {
            let mirror = try sandbox.resource(MemoryMirror.key) {
                MemoryMirror(memory: ServiceMemorySync(memory: memory, sessionID: session.id), sessionID: session.id, mounts: mounts, workspace: sandbox.workspace.root, owner: owner, logger: logger)
            }
            return MemoryMirroringPlane(base: base, mirror: mirror)
        } catch {
            return base
        }
    }

    /// The folders `session`'s memory stores are mirrored into, as sandbox volumes.
    public func memoryVolumes(for session: Session) throws -> [any SandboxVolume] {
        try MemoryMirror.volumes(for: session, sessionFolder: Sandbox.sessionFolder(dataDirectory: dataDirectory, sessionID: session.id))
    }

    private static func folder(of sandbox: Sandbox) -> URL {
        sandbox.workspace.root.deletingLastPathComponent()
    }
}
