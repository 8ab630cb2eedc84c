import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func createSession(_ session: Session, initialEvents: [SessionEvent], deploymentRun: DeploymentRun?) async throws -> (Session, [StoredEvent]) {
        let body = try Self.encode(session)
        let origin = processID
        return try await write { db in
            let state = SessionState(status: session.status, updatedAt: session.updatedAt)
            try await db.execute(
                """
                INSERT INTO sessions (id, created_at, archived_at, agent_id, agent_version, environment_id, status, state, body)
                VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)
                """,
                [
                    session.id, Timestamp.micros(session.createdAt), session.agent.id, session.agent.version, session.environmentID,
                    state.status.rawValue, try Self.encode(state), body,
                ])
            for mount in session.memoryMounts {
                try await db.execute(
                    "INSERT INTO session_memory_stores (session_id, memory_store_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [session.id, mount.memoryStoreID])
            }
            try await Self.enqueue([OutboxEvent(type: "session.created", resourceID: session.id, createdAt: session.createdAt)], db)
            if let deploymentRun { try await Self.insertDeploymentRun(deploymentRun, db) }
            var header = SessionHeader(id: session.id, environmentID: session.environmentID, archivedAt: nil, state: state)
            let stored = try await Self.append(initialEvents, to: &header, db)
            try await Self.saveState(of: header, db)
            try await Self.announce(stored, origin: origin, db)
            var created = session
            created.overlay(header.state, now: session.createdAt)
            return (created, stored)
        }
    }

    public func session(id: String) async throws -> Session? {
        try await read { db in
            try await db.fetchOne("SELECT state, body FROM sessions WHERE id = ?", [id]).map(Self.session)
        }
    }

    public func sessionHeader(id: String) async throws -> SessionHeader? {
        try await read { db in try await Self.header(id: id, db) }
    }

    public func updateSession(id: String, _ change: @Sendable (Session) throws -> Session) async throws -> Session {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT state, body FROM sessions WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("session", id)
            }
            let current = try Self.session(row)
            var next = try change(current)
            let state = try Self.decode(SessionState.self, row["state"])
            next.overlay(state)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE sessions SET archived_at = ?, body = ? WHERE id = ?", [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            if next.memoryMounts != current.memoryMounts {
                try await db.execute("DELETE FROM session_memory_stores WHERE session_id = ?", [id])
                for mount in next.memoryMounts {
                    try await db.execute(
                        "INSERT INTO session_memory_stores (session_id, memory_store_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [id, mount.memoryStoreID])
                }
            }
            let type = current.archivedAt == nil && next.archivedAt != nil ? "session.archived" : "session.updated"
            try await Self.enqueue([OutboxEvent(type: type, resourceID: id, createdAt: next.updatedAt)], db)
            return next
        }
    }

    public func listSessions(_ filter: SessionFilter, page: PageRequest) async throws -> Page<Session> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if let agentID = filter.agentID {
                query.filter("agent_id = ?", [agentID])
                if let version = filter.agentVersion { query.filter("agent_version = ?", [version]) }
            }
            if !filter.statuses.isEmpty { query.filter("status = ANY(?)", [filter.statuses.map(\.rawValue).sorted()]) }
            if let storeID = filter.memoryStoreID {
                query.filter("id IN (SELECT session_id FROM session_memory_stores WHERE memory_store_id = ?)", [storeID])
            }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "sessions", select: "id, created_at, state, body", page: page,
                decode: Self.session, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteSession(id: String, check: @Sendable (SessionHeader) throws -> Void) async throws {
        try await write { db in
            guard let header = try await Self.header(id: id, forUpdate: true, db) else { throw APIError.notFound("session", id) }
            try check(header)
            try await db.execute("DELETE FROM events WHERE session_id = ?", [id])
            try await db.execute("DELETE FROM sessions WHERE id = ?", [id])
            try await db.execute("DELETE FROM work_items WHERE session_id = ?", [id])
            try await db.execute("DELETE FROM leases WHERE key = ?", [LeaseKey.session(id)])
            try await Self.enqueue([OutboxEvent(type: "session.deleted", resourceID: id)], db)
        }
    }

    public func activeSessionIDs() async throws -> [String] {
        try await read { db in
            try await db.column(String.self, "SELECT id FROM sessions WHERE status IN ('running', 'rescheduling') ORDER BY created_at")
        }
    }

    static func session(_ row: SQLRow) throws -> Session {
        var session = try decode(Session.self, row["body"])
        session.overlay(try decode(SessionState.self, row["state"]))
        return session
    }

    static func header(id: String, forUpdate: Bool = false, _ db: SQLConnection) async throws -> SessionHeader? {
        guard let row = try await db.fetchOne(
            "SELECT environment_id, archived_at, state FROM sessions WHERE id = ?\(forUpdate ? " FOR UPDATE" : "")", [id])
        else { return nil }
        return SessionHeader(
            id: id, environmentID: try row["environment_id"], archivedAt: (try row["archived_at"] as Int64?).map(Timestamp.fromMicros),
            state: try decode(SessionState.self, row["state"]))
    }
}
