import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let threadsSchema = """
        CREATE TABLE session_threads (
            id TEXT PRIMARY KEY NOT NULL,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            parent_thread_id TEXT,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            status TEXT NOT NULL,
            state TEXT NOT NULL,
            agent TEXT NOT NULL
        );
        CREATE INDEX session_threads_by_session ON session_threads(session_id, created_at, id);
        CREATE INDEX events_by_thread ON events(session_id, thread_id, seq);
        """

    /// Event types that change a thread's derived state.
    private static let threadStateTypes: Set<EventType> = [
        .sessionThreadStatusRunning, .sessionThreadStatusIdle, .sessionThreadStatusTerminated, .sessionThreadStatusRescheduled,
        .sessionStatusRunning, .sessionStatusIdle, .sessionStatusTerminated, .sessionStatusRescheduled, .spanModelRequestEnd,
    ]

    public func createThread(_ thread: SessionThread, events: [SessionEvent]) async throws -> (SessionHeader, [StoredEvent]) {
        let cache = headers
        return try await write { db in
            cache.remove(id: thread.sessionID)
            guard var header = try Self.header(id: thread.sessionID, db) else { throw APIError.notFound("session", thread.sessionID) }
            if header.archivedAt != nil { throw APIError.archived("session", header.id) }
            if let parent = thread.parentThreadID, try Self.threadRow(sessionID: thread.sessionID, id: parent, db) == nil {
                throw APIError.notFound("session_thread", parent)
            }
            try Self.insert(thread, db)
            let stored = try Self.append(events, to: &header, db)
            return (header, stored)
        }
    }

    /// Inserts the session's primary thread row if it has none; returns its id.
    public func ensurePrimaryThread(sessionID: String, agent: SessionAgent) async throws -> String {
        try await write { db in
            if let id = try Self.primaryThreadID(sessionID: sessionID, db) { return id }
            guard let header = try Self.header(id: sessionID, db) else { throw APIError.notFound("session", sessionID) }
            let createdAt = try Int64.fetchOne(db, sql: "SELECT created_at FROM sessions WHERE id = ?", arguments: [sessionID])
                .map(Timestamp.fromMicros) ?? header.state.updatedAt
            let primary = SessionThread(
                id: ResourceID.make(ResourceID.thread), sessionID: sessionID, agent: agent, parentThreadID: nil,
                state: SessionThreadState(primaryOf: header.state, usage: header.state.usage), createdAt: createdAt)
            try Self.insert(primary, db)
            return primary.id
        }
    }

    public func thread(sessionID: String, id: String) async throws -> SessionThread? {
        try await read { db in try Self.threadRow(sessionID: sessionID, id: id, db) }
    }

    public func primaryThreadID(sessionID: String) async throws -> String? {
        try await read { db in try Self.primaryThreadID(sessionID: sessionID, db) }
    }

    public func sessionIDsWithActiveThreads() async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: "SELECT DISTINCT session_id FROM session_threads WHERE parent_thread_id IS NOT NULL AND status IN ('running', 'rescheduling') ORDER BY session_id")
        }
    }

    public func listThreads(sessionID: String, statuses: Set<SessionStatus>, page: PageRequest) async throws -> Page<SessionThread> {
        try await read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sessions WHERE id = ?", arguments: [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            var query = KeysetQuery(sortColumn: "created_at")
            query.filter("session_id = ?", [sessionID])
            if !statuses.isEmpty {
                let values = statuses.map(\.rawValue).sorted()
                query.filter("status IN (\(values.map { _ in "?" }.joined(separator: ",")))", values)
            }
            return try query.page(
                db, from: "session_threads", select: "id, session_id, parent_thread_id, created_at, archived_at, state, agent", page: page,
                decode: Self.thread, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func updateThread(sessionID: String, id: String, _ change: @Sendable (SessionThread) throws -> SessionThread) async throws -> SessionThread {
        try await write { db in
            guard let current = try Self.threadRow(sessionID: sessionID, id: id, db) else { throw APIError.notFound("session_thread", id) }
            let updated = try change(current)
            try db.execute(
                sql: "UPDATE session_threads SET archived_at = ?, status = ?, state = ? WHERE id = ?",
                arguments: [updated.archivedAt.map(Timestamp.micros), updated.state.status.rawValue, try Self.encode(updated.state), id])
            return updated
        }
    }

    /// Folds appended events into their threads' state (inside the append transaction).
    static func foldThreads(events: [StoredEvent], sessionID: String, _ db: Database) throws {
        let relevant = events.filter { threadStateTypes.contains($0.type) }
        guard !relevant.isEmpty else { return }
        var primaryID: String??
        var states: [String: SessionThreadState] = [:]
        for stored in relevant {
            let threadID: String
            if let id = stored.threadID {
                threadID = id
            } else {
                if primaryID == nil { primaryID = .some(try primaryThreadID(sessionID: sessionID, db)) }
                guard let id = primaryID ?? nil else { continue }
                threadID = id
            }
            if states[threadID] == nil {
                guard let text = try String.fetchOne(
                    db, sql: "SELECT state FROM session_threads WHERE id = ? AND session_id = ?", arguments: [threadID, sessionID])
                else { continue }
                states[threadID] = try decode(SessionThreadState.self, text)
            }
            states[threadID]?.apply(try stored.event())
        }
        for (id, state) in states {
            try db.execute(
                sql: "UPDATE session_threads SET status = ?, state = ? WHERE id = ?", arguments: [state.status.rawValue, try encode(state), id])
        }
    }

    private static func insert(_ thread: SessionThread, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO session_threads (id, session_id, parent_thread_id, created_at, archived_at, status, state, agent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                thread.id, thread.sessionID, thread.parentThreadID, Timestamp.micros(thread.createdAt), thread.archivedAt.map(Timestamp.micros),
                thread.state.status.rawValue, try encode(thread.state), try encode(thread.agent),
            ])
    }

    private static func primaryThreadID(sessionID: String, _ db: Database) throws -> String? {
        try String.fetchOne(
            db, sql: "SELECT id FROM session_threads WHERE session_id = ? AND parent_thread_id IS NULL LIMIT 1", arguments: [sessionID])
    }

    private static func threadRow(sessionID: String, id: String, _ db: Database) throws -> SessionThread? {
        try Row.fetchOne(
            db, sql: "SELECT id, session_id, parent_thread_id, created_at, archived_at, state, agent FROM session_threads WHERE id = ? AND session_id = ?",
            arguments: [id, sessionID]
        ).map(thread)
    }

    private static func thread(_ row: Row) throws -> SessionThread {
        SessionThread(
            id: row["id"], sessionID: row["session_id"], agent: try decode(SessionAgent.self, row["agent"]), parentThreadID: row["parent_thread_id"],
            state: try decode(SessionThreadState.self, row["state"]), createdAt: Timestamp.fromMicros(row["created_at"]),
            archivedAt: (row["archived_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
