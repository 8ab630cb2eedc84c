import ReverieCore

/// Everything Reverie keeps. Each operation is atomic; operations that change something
/// other systems may be told about also write their `OutboxEvent`s in the same transaction.
///
/// `SQLiteStore` is the embedded implementation. The protocol speaks only domain values, so
/// another database can implement it without callers changing.
public protocol Store: AgentStore, EnvironmentStore, SessionStore, EventLogStore, ThreadStore, APIKeyStore, OutboxStore, MemoryRepository, DreamStore,
    DreamPolicyStore, EvaluationStore, StatisticsStore, WebhookStore, WorkQueueStore, FileStore, SkillStore, DeploymentStore, VaultStore,
    SecretResealingStore, Sendable
{
    /// Flushes and releases the database.
    func close() async throws
}

/// Agents and their immutable versions.
public protocol AgentStore: Sendable {
    /// Inserts a new agent (version 1).
    func createAgent(_ agent: Agent) async throws
    /// The current version of an agent.
    func agent(id: String) async throws -> Agent?
    /// One version of an agent.
    func agent(id: String, version: Int) async throws -> Agent?
    /// Reads the current version, lets `change` produce the next one, and saves it atomically.
    /// When `change` returns a different `version`, that version is recorded in the history.
    /// Throws `APIError.notFound` when there is no such agent.
    func updateAgent(id: String, _ change: @Sendable (Agent) throws -> Agent) async throws -> Agent
    /// Agents, newest first.
    func listAgents(_ filter: AgentFilter, page: PageRequest) async throws -> Page<Agent>
    /// An agent's versions, newest first.
    func listAgentVersions(id: String, page: PageRequest) async throws -> Page<Agent>
}

/// Filters for listing agents.
public struct AgentFilter: Sendable, Equatable {
    public var includeArchived: Bool
    public var createdAt: TimeRange

    public init(includeArchived: Bool = false, createdAt: TimeRange = .unbounded) {
        self.includeArchived = includeArchived
        self.createdAt = createdAt
    }
}

/// Environments.
public protocol EnvironmentStore: Sendable {
    func createEnvironment(_ environment: Environment) async throws
    func environment(id: String) async throws -> Environment?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing.
    func updateEnvironment(id: String, _ change: @Sendable (Environment) throws -> Environment) async throws -> Environment
    func listEnvironments(includeArchived: Bool, page: PageRequest) async throws -> Page<Environment>
    /// Deletes an environment; refused with a conflict while sessions still use it.
    func deleteEnvironment(id: String) async throws
}

extension SessionStore {
    /// Inserts a session and appends its initial events, atomically.
    public func createSession(_ session: Session, initialEvents: [SessionEvent]) async throws -> (Session, [StoredEvent]) {
        try await createSession(session, initialEvents: initialEvents, deploymentRun: nil)
    }
}

/// Sessions (their configuration and derived state; the log is `EventLogStore`).
public protocol SessionStore: Sendable {
    /// Inserts a session and appends its initial events, atomically; with `deploymentRun`, that
    /// run record is inserted in the same transaction (and a run already recorded for the same
    /// scheduled occurrence makes the whole creation fail).
    func createSession(_ session: Session, initialEvents: [SessionEvent], deploymentRun: DeploymentRun?) async throws -> (Session, [StoredEvent])
    func session(id: String) async throws -> Session?
    /// Atomic read-modify-write of the session's configuration (title, metadata, archive, …).
    func updateSession(id: String, _ change: @Sendable (Session) throws -> Session) async throws -> Session
    func listSessions(_ filter: SessionFilter, page: PageRequest) async throws -> Page<Session>
    /// Deletes a session and its log. `check` runs inside the transaction and may refuse.
    func deleteSession(id: String, check: @Sendable (SessionHeader) throws -> Void) async throws
    /// Sessions whose status is `running` or `rescheduling` (to resume after a restart).
    func activeSessionIDs() async throws -> [String]
    /// Resumptions of the session started since one last ended without failing (each one a
    /// resumption that failed or whose process died).
    func resumptionCount(sessionID: String) async throws -> Int
    /// Counts one more resumption starting; returns the new count.
    func recordResumption(sessionID: String) async throws -> Int
    /// A resumption ended without failing: the count starts again.
    func clearResumptions(sessionID: String) async throws
}

/// Filters for listing sessions.
public struct SessionFilter: Sendable, Equatable {
    public var agentID: String?
    public var agentVersion: Int?
    public var statuses: Set<SessionStatus>
    public var memoryStoreID: String?
    public var includeArchived: Bool
    public var createdAt: TimeRange

    public init(agentID: String? = nil, agentVersion: Int? = nil, statuses: Set<SessionStatus> = [], memoryStoreID: String? = nil,
                includeArchived: Bool = false, createdAt: TimeRange = .unbounded) {
        self.agentID = agentID
        self.agentVersion = agentVersion
        self.statuses = statuses
        self.memoryStoreID = memoryStoreID
        self.includeArchived = includeArchived
        self.createdAt = createdAt
    }
}

/// Session event logs: append-only, one increasing sequence per session.
public protocol EventLogStore: Sendable {
    /// Appends events to a session's log and folds them into its derived state, atomically.
    /// `check` sees the session as it is inside the transaction and may refuse the append.
    func appendEvents(_ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void)
        async throws -> (SessionHeader, [StoredEvent])
    /// The session's header (identity, archive mark and derived state).
    func sessionHeader(id: String) async throws -> SessionHeader?
    /// A page of a session's log.
    func listEvents(sessionID: String, filter: EventFilter, page: PageRequest) async throws -> Page<StoredEvent>
    /// Events after `sequence`, oldest first (for streaming and replay).
    func events(sessionID: String, after sequence: Int64, limit: Int) async throws -> [StoredEvent]
    /// One event by id.
    func event(sessionID: String, id: String) async throws -> StoredEvent?
}

/// Filters for listing events.
public struct EventFilter: Sendable, Equatable {
    public var types: Set<EventType>
    public var processedAt: TimeRange
    /// Only events of this thread; nil means all.
    public var threadID: String?
    /// Only the primary thread's events (those without a thread id).
    public var primaryThreadOnly: Bool

    public init(types: Set<EventType> = [], processedAt: TimeRange = .unbounded, threadID: String? = nil, primaryThreadOnly: Bool = false) {
        self.types = types
        self.processedAt = processedAt
        self.threadID = threadID
        self.primaryThreadOnly = primaryThreadOnly
    }
}

/// API keys, stored as SHA-256 hashes.
public protocol APIKeyStore: Sendable {
    func createAPIKey(_ key: APIKeyRecord) async throws
    /// The live key whose secret hashes to `hash`.
    func apiKey(hash: String) async throws -> APIKeyRecord?
    func listAPIKeys() async throws -> [APIKeyRecord]
    /// Marks a key revoked; returns false when there is no such key.
    func revokeAPIKey(id: String) async throws -> Bool
}

/// The transactional outbox of changes to announce.
public protocol OutboxStore: Sendable {
    /// Outbox events not yet handed to delivery, oldest first.
    func pendingOutboxEvents(limit: Int) async throws -> [OutboxEvent]
    /// Marks outbox events as handed over.
    func markOutboxEventsDispatched(ids: [String]) async throws
}
