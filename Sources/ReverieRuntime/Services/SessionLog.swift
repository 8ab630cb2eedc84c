import ReverieCore
import ReverieStore

/// What the session log is kept in: sessions, their event logs and their threads.
public typealias SessionLogStore = EventLogStore & SessionStore & ThreadStore

/// The session log service: appends events to a session's log and publishes them live,
/// and reads logs, headers and threads back. Every writer of a log (API, agent loops,
/// grader, thread scheduler) appends through here, so nothing stored goes unpublished.
public struct SessionLog: Sendable {
    let store: any SessionLogStore
    /// Live subscribers of each session's log.
    public let hub: EventHub

    public init(store: any SessionLogStore, hub: EventHub = EventHub()) {
        self.store = store
        self.hub = hub
    }

    // MARK: writing

    /// Appends events to a session's log and publishes them. `check` sees the session inside
    /// the write transaction and may refuse the append.
    @discardableResult
    public func append(_ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void = { _ in })
        async throws -> (SessionHeader, [StoredEvent])
    {
        let (header, stored) = try await store.appendEvents(events, to: sessionID, check: check)
        hub.publish(stored)
        return (header, stored)
    }

    /// Creates a child thread with its opening events, and publishes them.
    @discardableResult
    public func createThread(_ thread: SessionThread, events: [SessionEvent]) async throws -> [StoredEvent] {
        let (_, stored) = try await store.createThread(thread, events: events)
        hub.publish(stored)
        return stored
    }

    /// The session's primary thread id, creating its row when it has none.
    public func ensurePrimaryThread(sessionID: String, agent: SessionAgent) async throws -> String {
        try await store.ensurePrimaryThread(sessionID: sessionID, agent: agent)
    }

    // MARK: reading

    /// The session, or `APIError.notFound`.
    public func session(id: String) async throws -> Session {
        guard let session = try await store.session(id: id) else { throw APIError.notFound("session", id) }
        return session
    }

    /// The session's header (identity, archive mark and derived state), nil when it does not exist.
    public func header(id: String) async throws -> SessionHeader? {
        try await store.sessionHeader(id: id)
    }

    /// Events after `sequence`, oldest first.
    public func events(sessionID: String, after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await store.events(sessionID: sessionID, after: sequence, limit: limit)
    }

    /// One event by id.
    public func event(sessionID: String, id: String) async throws -> StoredEvent? {
        try await store.event(sessionID: sessionID, id: id)
    }

    /// A page of a session's log.
    public func listEvents(sessionID: String, filter: EventFilter, page: PageRequest) async throws -> Page<StoredEvent> {
        try await store.listEvents(sessionID: sessionID, filter: filter, page: page)
    }

    /// A session's threads, oldest first by default.
    public func threads(sessionID: String, statuses: Set<SessionStatus> = [], page: PageRequest) async throws -> Page<SessionThread> {
        try await store.listThreads(sessionID: sessionID, statuses: statuses, page: page)
    }

    /// One thread of a session.
    public func thread(sessionID: String, id: String) async throws -> SessionThread? {
        try await store.thread(sessionID: sessionID, id: id)
    }

    /// Sessions left `running` or `rescheduling` (to resume after a restart).
    public func activeSessionIDs() async throws -> [String] {
        try await store.activeSessionIDs()
    }

    /// Resumptions started since one last ended without failing.
    public func resumptionCount(sessionID: String) async throws -> Int {
        try await store.resumptionCount(sessionID: sessionID)
    }

    /// Counts a resumption starting.
    @discardableResult
    public func recordResumption(sessionID: String) async throws -> Int {
        try await store.recordResumption(sessionID: sessionID)
    }

    /// A resumption ended without failing.
    public func clearResumptions(sessionID: String) async throws {
        try await store.clearResumptions(sessionID: sessionID)
    }

    /// Sessions with a child thread still running (to resume after a restart).
    public func sessionIDsWithActiveThreads() async throws -> [String] {
        try await store.sessionIDsWithActiveThreads()
    }
}
