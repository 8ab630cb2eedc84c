import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func createSession(_ session: Session, initialEvents: [SessionEvent], deploymentRun: DeploymentRun?) async throws -> (Session, [StoredEvent]) {
        let body = try Self.encode(session)
        return try await write { db in
            let state = SessionState(status: session.status, updatedAt: session.updatedAt)
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, created_at, archived_at, agent_id, agent_version, environment_id, status, state, body)
                    VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.id, Timestamp.micros(session.createdAt), session.agent.id, session.agent.version, session.environmentID,
                    state.status.rawValue, try Self.encode(state), body,
                ])
            for mount in session.memoryMounts {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO session_memory_stores (session_id, memory_store_id) VALUES (?, ?)",
                    arguments: [session.id, mount.memoryStoreID])
            }
            try Self.enqueue([OutboxEvent(type: "session.created", resourceID: session.id, createdAt: session.createdAt)], db)
            if let deploymentRun { try Self.insertDeploymentRun(deploymentRun, db) }
            var header = SessionHeader(id: session.id, environmentID: session.environmentID, archivedAt: nil, state: state)
            let stored = try Self.append(initialEvents, to: &header, db)
            var created = session
            created.overlay(header.state, now: session.createdAt)
            return (created, stored)
        }
    }

    public func session(id: String) async throws -> Session? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT state, body FROM sessions WHERE id = ?", arguments: [id]).map(Self.session)
        }
    }

    public func sessionHeader(id: String) async throws -> SessionHeader? {
        if let header = headers.header(id: id) { return header }
        return try await read { db in try Self.header(id: id, db) }
    }

    public func updateSession(id: String, _ change: @Sendable (Session) throws -> Session) async throws -> Session {
        let cache = headers
        return try await write { db in
            cache.remove(id: id)
            guard let row = try Row.fetchOne(db, sql: "SELECT state, body FROM sessions WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("session", id)
            }
            let current = try Self.session(row)
            var next = try change(current)
            // The derived state belongs to the log; a configuration change never rewrites it.
            let state = try Self.decode(SessionState.self, row["state"])
            next.overlay(state)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE sessions SET archived_at = ?, body = ? WHERE id = ?",
                arguments: [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            if next.memoryMounts != current.memoryMounts {
                try db.execute(sql: "DELETE FROM session_memory_stores WHERE session_id = ?", arguments: [id])
                for mount in next.memoryMounts {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO session_memory_stores (session_id, memory_store_id) VALUES (?, ?)",
                        arguments: [id, mount.memoryStoreID])
                }
            }
            let type = current.archivedAt == nil && next.archivedAt != nil ? "session.archived" : "session.updated"
            try Self.enqueue([OutboxEvent(type: type, resourceID: id, createdAt: next.updatedAt)], db)
            return next
        }
    }

    public func listSessions(_ filter: SessionFilter, page: PageRequest) async throws -> Page<Session> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if let agentID = filter.agentID {
                query.filter("agent_id = ?", [agentID])
                if let version = filter.agentVersion { query.filter("agent_version = ?", [version]) }
            }
            if !filter.statuses.isEmpty {
                let statuses = filter.statuses.map(\.rawValue).sorted()
                query.filter("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))", statuses)
            }
            if let storeID = filter.memoryStoreID {
                query.filter("id IN (SELECT session_id FROM session_memory_stores WHERE memory_store_id = ?)", [storeID])
            }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "sessions", select: "id, created_at, state, body", page: page,
                decode: Self.session, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteSession(id: String, check: @Sendable (SessionHeader) throws -> Void) async throws {
        let cache = headers
        try await write { db in
            cache.remove(id: id)
            guard let header = try Self.header(id: id, db) else { throw APIError.notFound("session", id) }
            try check(header)
            try db.execute(sql: "DELETE FROM events WHERE session_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM sessions WHERE id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM work_items WHERE session_id = ?", arguments: [id])
            try Self.enqueue([OutboxEvent(type: "session.deleted", resourceID: id)], db)
        }
    }

    public func activeSessionIDs() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM sessions WHERE status IN ('running', 'rescheduling') ORDER BY created_at")
        }
    }

    static func session(_ row: Row) throws -> Session {
        var session = try decode(Session.self, row["body"])
        session.overlay(try decode(SessionState.self, row["state"]))
        return session
    }

    static func header(id: String, _ db: Database) throws -> SessionHeader? {
        let statement = try db.cachedStatement(sql: "SELECT environment_id, archived_at, state FROM sessions WHERE id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
        return SessionHeader(
            id: id, environmentID: row["environment_id"], archivedAt: (row["archived_at"] as Int64?).map(Timestamp.fromMicros),
            state: try decode(SessionState.self, row["state"]))
    }
}
