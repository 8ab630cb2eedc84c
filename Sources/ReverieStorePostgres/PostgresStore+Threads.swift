import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    /// Event types that change a thread's derived state.
    private static let threadStateTypes: Set<EventType> = [
        .sessionThreadStatusRunning, .sessionThreadStatusIdle, .sessionThreadStatusTerminated, .sessionThreadStatusRescheduled,
        .sessionStatusRunning, .sessionStatusIdle, .sessionStatusTerminated, .sessionStatusRescheduled, .spanModelRequestEnd,
    ]

    public func createThread(_ thread: SessionThread, events: [SessionEvent]) async throws -> (SessionHeader, [StoredEvent]) {
        let origin = processID
        return try await write { db in
            guard var header = try await Self.header(id: thread.sessionID, forUpdate: true, db) else {
                throw APIError.notFound("session", thread.sessionID)
            }
            if header.archivedAt != nil { throw APIError.archived("session", header.id) }
            if let parent = thread.parentThreadID, try await Self.threadRow(sessionID: thread.sessionID, id: parent, db) == nil {
                throw APIError.notFound("session_thread", parent)
            }
            try await Self.insert(thread, db)
            let before = header.status
            let stored = try await Self.append(events, to: &header, db)
            try await Self.saveState(of: header, statusChanged: before != header.status, db)
            try await Self.announce(stored, origin: origin, db)
            return (header, stored)
        }
    }

    public func ensurePrimaryThread(sessionID: String, agent: SessionAgent) async throws -> String {
        try await write { db in
            guard let header = try await Self.header(id: sessionID, forUpdate: true, db) else { throw APIError.notFound("session", sessionID) }
            if let id = try await Self.primaryThreadID(sessionID: sessionID, db) { return id }
            let createdAt = try await db.scalar(Int64.self, "SELECT created_at FROM sessions WHERE id = ?", [sessionID])
                .map(Timestamp.fromMicros) ?? header.state.updatedAt
            let primary = SessionThread(
                id: ResourceID.make(ResourceID.thread), sessionID: sessionID, agent: agent, parentThreadID: nil,
                state: SessionThreadState(primaryOf: header.state, usage: header.state.usage), createdAt: createdAt)
            try await Self.insert(primary, db)
            return primary.id
        }
    }

    public func thread(sessionID: String, id: String) async throws -> SessionThread? {
        try await read { db in try await Self.threadRow(sessionID: sessionID, id: id, db) }
    }

    public func primaryThreadID(sessionID: String) async throws -> String? {
        try await read { db in try await Self.primaryThreadID(sessionID: sessionID, db) }
    }

    public func sessionIDsWithActiveThreads() async throws -> [String] {
        try await read { db in
            try await db.column(
                String.self,
                "SELECT DISTINCT session_id FROM session_threads WHERE parent_thread_id IS NOT NULL AND status IN ('running', 'rescheduling') ORDER BY session_id")
        }
    }

    public func listThreads(sessionID: String, statuses: Set<SessionStatus>, page: PageRequest) async throws -> Page<SessionThread> {
        try await read { db in
            guard try await db.fetchOne("SELECT 1 FROM sessions WHERE id = ?", [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            query.filter("session_id = ?", [sessionID])
            if !statuses.isEmpty { query.filter("status = ANY(?)", [statuses.map(\.rawValue).sorted()]) }
            return try await query.page(
                db, from: "session_threads", select: "id, session_id, parent_thread_id, created_at, archived_at, state, agent", page: page,
                decode: Self.thread, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func updateThread(sessionID: String, id: String, _ change: @Sendable (SessionThread) throws -> SessionThread) async throws -> SessionThread {
        try await write { db in
            guard let current = try await Self.threadRow(sessionID: sessionID, id: id, forUpdate: true, db) else {
                throw APIError.notFound("session_thread", id)
            }
            let updated = try change(current)
            try await db.execute(
                "UPDATE session_threads SET archived_at = ?, status = ?, state = ? WHERE id = ?",
                [updated.archivedAt.map(Timestamp.micros), updated.state.status.rawValue, try Self.encode(updated.state), id])
            return updated
        }
    }

    /// Folds appended events into their threads' state (inside the append transaction).
    static func foldThreads(events: [StoredEvent], sessionID: String, _ db: SQLConnection) async throws {
        let relevant = events.filter { threadStateTypes.contains($0.type) }
        guard !relevant.isEmpty else { return }
        var primaryID: String??
        var states: [String: SessionThreadState] = [:]
        for stored in relevant {
            let threadID: String
            if let id = stored.threadID {
                threadID = id
            } else {
                if primaryID == nil { primaryID = .some(try await primaryThreadID(sessionID: sessionID, db)) }
                guard let id = primaryID ?? nil else { continue }
                threadID = id
            }
            if states[threadID] == nil {
                guard let text = try await db.scalar(
                    String.self, "SELECT state FROM session_threads WHERE id = ? AND session_id = ?", [threadID, sessionID])
                else { continue }
                states[threadID] = try decode(SessionThreadState.self, text)
            }
            states[threadID]?.apply(try stored.event())
        }
        for (id, state) in states.sorted(by: { $0.key < $1.key }) {
            try await db.execute("UPDATE session_threads SET status = ?, state = ? WHERE id = ?", [state.status.rawValue, try encode(state), id])
        }
    }

    private static func insert(_ thread: SessionThread, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            INSERT INTO session_threads (id, session_id, parent_thread_id, created_at, archived_at, status, state, agent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                thread.id, thread.sessionID, thread.parentThreadID, Timestamp.micros(thread.createdAt), thread.archivedAt.map(Timestamp.micros),
                thread.state.status.rawValue, try encode(thread.state), try encode(thread.agent),
            ])
    }

    private static func primaryThreadID(sessionID: String, _ db: SQLConnection) async throws -> String? {
        try await db.scalar(String.self, "SELECT id FROM session_threads WHERE session_id = ? AND parent_thread_id IS NULL LIMIT 1", [sessionID])
    }

    private static func threadRow(sessionID: String, id: String, forUpdate: Bool = false, _ db: SQLConnection) async throws -> SessionThread? {
        try await db.fetchOne(
            "SELECT id, session_id, parent_thread_id, created_at, archived_at, state, agent FROM session_threads WHERE id = ? AND session_id = ?"
                + (forUpdate ? " FOR UPDATE" : ""),
            [id, sessionID]
        ).map(thread)
    }

    private static func thread(_ row: SQLRow) throws -> SessionThread {
        SessionThread(
            id: try row["id"], sessionID: try row["session_id"], agent: try decode(SessionAgent.self, row["agent"]),
            parentThreadID: try row["parent_thread_id"], state: try decode(SessionThreadState.self, row["state"]),
            createdAt: Timestamp.fromMicros(try row["created_at"]), archivedAt: (try row["archived_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
