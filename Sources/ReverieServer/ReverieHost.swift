import Foundation
import Hummingbird
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels
import ReverieRuntime
import ReverieStore
import ServiceLifecycle
import UnixSignals

/// Everything a running Reverie server needs, configured.
public struct HostConfiguration: Sendable {
    /// Where the database and session sandboxes live (default `./.reverie`).
    public var dataDirectory: String
    public var server: ServerConfiguration
    /// Which model servers answer which agent models. `nil` runs the API only: events are
    /// stored and sessions stay idle (no agent runs).
    public var models: ModelCatalogConfiguration?
    /// Settings of the session loop (`dataDirectory` is taken from above).
    public var runtime: RuntimeConfiguration
    /// Settings of the built-in tools (bash timeouts, output limits).
    public var tools: BuiltinTools.Configuration
    /// How dreams run (curation rules, chunk sizes, concurrency).
    public var dreams: DreamSettings
    /// Webhook delivery: address policy, timeouts, retry schedule.
    public var webhooks: WebhookConfiguration
    /// Where agents' tools run: a bubblewrap sandbox per session (the default), with its limits.
    public var isolation: IsolationSettings
    /// When an acknowledged write is safe: fsynced (the default) or handed to the OS.
    public var durability: Durability = .fsync
    /// Leases of the work queues of `self_hosted` environments.
    public var work: WorkQueueSettings = WorkQueueSettings()
    /// The time deployments' schedules are read against: the system clock, or (for tests) a
    /// file holding an RFC 3339 time.
    public var scheduleClockFile: String?
    /// How often the deployment scheduler looks for due schedules.
    public var schedulePollInterval: Duration = .seconds(1)

    public init(
        dataDirectory: String = ".reverie", server: ServerConfiguration = ServerConfiguration(), models: ModelCatalogConfiguration? = nil,
        runtime: RuntimeConfiguration? = nil, tools: BuiltinTools.Configuration = BuiltinTools.Configuration(),
        dreams: DreamSettings = DreamSettings(),
        webhooks: WebhookConfiguration = WebhookConfiguration(), isolation: IsolationSettings = IsolationSettings()
    ) {
        self.isolation = isolation
        self.dataDirectory = dataDirectory
        self.server = server
        self.webhooks = webhooks
        self.models = models
        var runtime = runtime ?? RuntimeConfiguration(dataDirectory: dataDirectory)
        runtime.dataDirectory = dataDirectory
        self.runtime = runtime
        self.tools = tools
        self.dreams = dreams
    }

    /// The SQLite database file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("reverie.sqlite") }
}

/// Assembles the store, the services, the agent runtime and the HTTP server, each built
/// once from what it needs, in dependency order (store → session log and memory → runtime
/// and dream runner → the API's services → routes), and runs them as one `ServiceGroup` that
/// shuts down gracefully on SIGINT/SIGTERM: the server stops accepting requests and finishes
/// in-flight ones, then running agent loops stop (their sessions stay `running` and resume at
/// the next start), then the store closes.
public final class ReverieHost: Sendable {
    public let configuration: HostConfiguration
    /// The database (tests and tools read it directly; services never reach around each other to it).
    public let store: any Store
    public let platform: Platform
    /// The agent runtime, when models are configured.
    public let runner: SessionRunner?
    /// The dream runner, when models are configured.
    public let dreamRunner: DreamRunner?
    /// The evaluation runner, when models are configured.
    public let evaluationRunner: EvaluationRunner?
    /// Carries out memory stores' dream policies, when models are configured.
    public let dreamPolicyRunner: DreamPolicyRunner?
    let catalog: ModelCatalog?
    public let logger: Logger
    /// Delivers webhooks (nil when delivery is off in this process).
    public let webhookDispatcher: WebhookDispatcher?
    /// The metrics every layer reports to, served at `/metrics`.
    public let telemetry: PrometheusTelemetry
    /// The store, when other processes share it.
    let shared: (any SharedStore)?
    /// Connects agents' MCP servers, when models are configured (shut down when the host stops).
    let mcp: MCPConnector?
    /// Fires deployments' schedules.
    public let deploymentScheduler: DeploymentScheduler

    /// A host on the embedded SQLite database in the data directory.
    public convenience init(
        configuration: HostConfiguration, egressCredentials: (any SessionEgressCredentialSource)? = nil, logger: Logger = Logger(label: "reverie")
    ) throws {
        let store = try SQLiteStore(path: configuration.databasePath, durability: configuration.durability, logger: logger)
        try self.init(configuration: configuration, store: store, egressCredentials: egressCredentials, logger: logger)
    }

    /// A host on `store` (e.g. a `PostgresStore` several processes share). When the store is a
    /// `SharedStore`, session loops, dreams and evaluations run under leases and events other
    /// processes append are streamed live. `egressCredentials` replaces where sessions'
    /// `environment_variable` credentials come from (tests); nil keeps the host's own.
    public init(
        configuration: HostConfiguration, store: any Store, egressCredentials: (any SessionEgressCredentialSource)? = nil,
        logger: Logger = Logger(label: "reverie")
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.store = store
        let shared = store as? any SharedStore
        self.shared = shared
        let leases = ProcessLeases(shared: shared, logger: logger)
        let telemetry = PrometheusTelemetry()
        self.telemetry = telemetry
        let log = SessionLog(store: store)
        let memory = MemoryService(store: store)
        let sealer = SecretSealer(keyring: try SecretKeyringFile.load(directory: configuration.dataDirectory))
        let webhookDispatcher = configuration.webhooks.deliveryEnabled
            ? WebhookDispatcher(store: store, configuration: configuration.webhooks, sealer: sealer, logger: logger, telemetry: telemetry) : nil
        self.webhookDispatcher = webhookDispatcher
        let workQueue = WorkQueue(store: store, settings: configuration.work)
        let webhooks = WebhookContext(sealer: sealer, urlGuard: WebhookURLGuard(policy: configuration.webhooks.addressPolicy), dispatcher: webhookDispatcher)
        let files = FileService(store: store, dataDirectory: configuration.dataDirectory, maxUploadBytes: configuration.server.maxUploadBytes, logger: logger)
        let skills = SkillService(store: store, files: files)
        let scheduleClock: any ScheduleClock = configuration.scheduleClockFile.map { FileScheduleClock(path: $0) } ?? SystemScheduleClock()
        if let models = configuration.models {
            let prober = CredentialProber(urlGuard: webhooks.urlGuard)
            let credentials = SessionCredentialResolver(store: store, sealer: sealer)
            let mcp = MCPConnector(
                resolver: credentials, vaults: VaultService(store: store, sealer: sealer, prober: prober), prober: prober, logger: logger)
            self.mcp = mcp
            let catalog = ModelCatalog(configuration: models, telemetry: telemetry)
            // Sessions' `environment_variable` credentials from their vaults, substituted by their egress proxies.
            let egressCredentials: any SessionEgressCredentialSource = egressCredentials ?? VaultEgressCredentials(resolver: credentials)
            let interception = configuration.isolation.mode == .bubblewrap ? try EgressInterceptionSetup.make(configuration: configuration) : nil
            let planes = ExecutionPlanes(
                tools: configuration.tools, isolation: configuration.isolation, memory: memory, environments: EnvironmentService(store: store),
                dataDirectory: configuration.dataDirectory, workQueue: workQueue, credentials: egressCredentials, interception: interception,
                logger: logger)
            let runner = SessionRunner(
                log: log, models: catalog, configuration: configuration.runtime,
                makeExecutionPlane: { session, sandbox in
                    ObservedExecutionPlane(base: await planes.plane(for: session, in: sandbox), telemetry: telemetry)
                },
                makeExtraVolumes: { session in
                    try planes.memoryVolumes(for: session) + (try await files.volumes(for: session)) + (try await skills.volumes(for: session))
                },
                loopEnded: { sessionID in _ = try? await files.recordOutputs(sessionID: sessionID) },
                turnEndHandler: OutcomeGrader(log: log, models: catalog, logger: logger),
                leases: leases, mcp: mcp, logger: logger)
            let dreamRunner = DreamRunner(
                ledger: DreamLedger(store: store), log: log, memory: memory, models: catalog, settings: configuration.dreams, logger: logger,
                telemetry: telemetry, leases: leases, takeoverInterval: configuration.runtime.takeoverInterval)
            // Evaluation runs are ordinary sessions, started through the same service clients use.
            let evaluationRunner = EvaluationRunner(
                store: store, sessions: SessionService(store: store, log: log, memory: memory, driver: runner), logger: logger, leases: leases,
                takeoverInterval: configuration.runtime.takeoverInterval)
            self.catalog = catalog
            self.runner = runner
            self.dreamRunner = dreamRunner
            self.evaluationRunner = evaluationRunner
            let platform = Platform(
                store: store, log: log, memory: memory, driver: runner, dreamScheduler: dreamRunner, evaluationScheduler: evaluationRunner,
                webhooks: webhooks, workQueue: workQueue, files: files, scheduleClock: scheduleClock)
            self.platform = platform
            self.dreamPolicyRunner = DreamPolicyRunner(
                store: store, dreams: platform.dreams, evaluations: platform.evaluations, interval: configuration.dreams.policyCheckInterval,
                logger: logger)
        } else {
            self.mcp = nil
            self.catalog = nil
            self.runner = nil
            self.dreamRunner = nil
            self.evaluationRunner = nil
            self.dreamPolicyRunner = nil
            self.platform = Platform(
                store: store, log: log, memory: memory, driver: IdleSessionDriver(), dreamScheduler: IdleDreamScheduler(), webhooks: webhooks,
                workQueue: workQueue, files: files, scheduleClock: scheduleClock)
        }
        self.deploymentScheduler = DeploymentScheduler(
            store: store, deployments: platform.deployments, clock: scheduleClock, pollInterval: configuration.schedulePollInterval, logger: logger)
    }
    /// Runs until a shutdown signal (or until the surrounding task is cancelled).
    /// `onListening` receives the bound port once the server accepts connections.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = try ReverieServer.application(
            platform: platform, configuration: configuration.server, telemetry: telemetry, statistics: store, logger: logger,
            onListening: onListening)
        // Services stop in reverse order: the HTTP server first, then the runtime and webhook delivery.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let webhookDispatcher { services.append(.init(service: webhookDispatcher)) }
        if let runner { services.append(.init(service: runner)) }
        if let dreamRunner { services.append(.init(service: dreamRunner)) }
        if let evaluationRunner { services.append(.init(service: evaluationRunner)) }
        if let dreamPolicyRunner { services.append(.init(service: dreamPolicyRunner)) }
        services.append(.init(service: deploymentScheduler))
        if let shared {
            services.append(.init(service: LeaseHeartbeat(shared: shared, logger: logger)))
            logger.info("sharing the database as process \(shared.processID)")
            var handler: SharedEventRelay.ClientEventsHandler?
            if let runner {
                handler = { @Sendable events, header in await runner.eventsAppendedElsewhere(events, session: header) }
            }
            services.append(.init(service: SharedEventRelay(shared: shared, log: platform.log, onClientEvents: handler, logger: logger)))
        }
        services.append(.init(service: application))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: signals, logger: logger))
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            failure = error
        }
        if let runner { await runner.shutdown() }
        if let dreamRunner { await dreamRunner.shutdown() }
        if let evaluationRunner { await evaluationRunner.shutdown() }
        platform.log.hub.closeAll()
        try? await catalog?.shutdown()
        await mcp?.shutdown()
        try await store.close()
        if let failure { throw failure }
    }
}

/// A host run as one `Service` of an enclosing `ServiceGroup` (tests, benchmarks, embedding):
/// the host's own services stop gracefully when that group shuts down.
public struct ReverieHostService: Service {
    public let host: ReverieHost
    let onListening: @Sendable (Int) async -> Void

    public init(host: ReverieHost, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        self.host = host
        self.onListening = onListening
    }

    public func run() async throws {
        try await host.run(signals: [], onListening: onListening)
    }
}
