import ReverieCore

/// A session's threads (`session_thread`): the primary thread and the child threads a
/// coordinator starts. Their events live in the session's log, tagged with `session_thread_id`;
/// each thread's derived state is folded in the transaction that appends them.
public protocol ThreadStore: Sendable {
    /// Inserts a child thread (and the session's primary thread, if it has no row yet) and
    /// appends `events` to the session's log, atomically.
    func createThread(_ thread: SessionThread, events: [SessionEvent]) async throws -> (SessionHeader, [StoredEvent])
    /// One thread of a session.
    func thread(sessionID: String, id: String) async throws -> SessionThread?
    /// The primary thread's id, when the session has a primary thread row.
    func primaryThreadID(sessionID: String) async throws -> String?
    /// A session's threads, oldest first by default.
    func listThreads(sessionID: String, statuses: Set<SessionStatus>, page: PageRequest) async throws -> Page<SessionThread>
    /// Atomic read-modify-write of a thread (archiving); throws `APIError.notFound` when missing.
    func updateThread(sessionID: String, id: String, _ change: @Sendable (SessionThread) throws -> SessionThread) async throws -> SessionThread
    /// Sessions with a child thread still `running` or `rescheduling` (to resume after a restart,
    /// even when the coordinator itself went idle).
    func sessionIDsWithActiveThreads() async throws -> [String]
    /// Inserts the session's primary thread row if it has none (a snapshot of `agent`); returns its id.
    func ensurePrimaryThread(sessionID: String, agent: SessionAgent) async throws -> String
}
