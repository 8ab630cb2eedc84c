import Logging
import ReverieCore
import ReverieStore

/// The operations of the Managed Agents API, independent of HTTP: one service per resource,
/// built in dependency order from what each needs. The server hands each route group the one
/// service it serves; the agent runtime never holds this (it is built from `SessionLog` and
/// `MemoryService` before the API exists, and is handed to the API as its `SessionDriver`).
public struct Platform: Sendable {
    public let log: SessionLog
    public let agents: AgentService
    public let environments: EnvironmentService
    public let memory: MemoryService
    public let sessions: SessionService
    public let dreams: DreamService
    public let evaluations: EvaluationService
    public let dreamPolicies: DreamPolicyService
    public let webhooks: WebhookService
    /// The Files API.
    public let files: FileService
    public let skills: SkillService
    /// Vaults and credentials (secrets sealed with the webhook context's sealer).
    public let vaults: VaultService
    /// Opens sessions' vault credentials for MCP connections and the egress proxy.
    public let credentials: SessionCredentialResolver
    /// Deployments and their runs (the scheduler fires them through this service).
    public let deployments: DeploymentService
    /// The work queues of `self_hosted` environments.
    public let work: WorkQueue
    /// Where API keys are kept (authentication reads it).
    public let keys: any APIKeyStore

    /// Builds the services over `store`. `driver` runs agents (`IdleSessionDriver` stores
    /// events and runs nothing); `dreamScheduler` runs dreams and `evaluationScheduler`
    /// evaluations (the idle ones leave them pending).
    public init(
        store: any Store, log: SessionLog, memory: MemoryService, driver: any SessionDriver, dreamScheduler: any DreamScheduler,
        evaluationScheduler: any EvaluationScheduler = IdleEvaluationScheduler(), webhooks: WebhookContext, workQueue: WorkQueue? = nil,
        files: FileService, scheduleClock: any ScheduleClock = SystemScheduleClock()
    ) {
        self.files = files
        self.skills = SkillService(store: store, files: files)
        self.work = workQueue ?? WorkQueue(store: store)
        self.log = log
        self.memory = memory
        self.keys = store
        agents = AgentService(store: store)
        environments = EnvironmentService(store: store)
        sessions = SessionService(store: store, log: log, memory: memory, driver: driver)
        deployments = DeploymentService(store: store, sessions: sessions, memory: memory, clock: scheduleClock)
        dreams = DreamService(store: store, memory: memory, scheduler: dreamScheduler)
        evaluations = EvaluationService(store: store, scheduler: evaluationScheduler)
        dreamPolicies = DreamPolicyService(store: store)
        self.webhooks = WebhookService(store: store, context: webhooks)
        vaults = VaultService(store: store, sealer: webhooks.sealer, prober: CredentialProber(urlGuard: webhooks.urlGuard))
        credentials = SessionCredentialResolver(store: store, sealer: webhooks.sealer)
    }
}

extension Platform {
    /// The API's services over `store` with no runtime: events are stored and sessions stay
    /// idle, dreams stay pending, webhook endpoints are sealed with a throwaway key (tools,
    /// benchmarks and tests that drive the API in-process); files are kept under `dataDirectory`.
    public static func withoutRuntime(store: any Store, dataDirectory: String) -> Platform {
        Platform(
            store: store, log: SessionLog(store: store), memory: MemoryService(store: store), driver: IdleSessionDriver(),
            dreamScheduler: IdleDreamScheduler(), webhooks: .ephemeral(), files: FileService(store: store, dataDirectory: dataDirectory))
    }
}
