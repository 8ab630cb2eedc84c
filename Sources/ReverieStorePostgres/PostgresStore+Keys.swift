import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func createAPIKey(_ key: APIKeyRecord) async throws {
        try await write { db in
            try await db.execute(
                "INSERT INTO api_keys (id, name, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                [key.id, key.name, key.secretHash, Timestamp.micros(key.createdAt), key.revokedAt.map(Timestamp.micros)])
        }
    }

    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL", [hash]).map(Self.apiKeyRecord)
        }
    }

    public func listAPIKeys() async throws -> [APIKeyRecord] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM api_keys ORDER BY created_at").map(Self.apiKeyRecord)
        }
    }

    public func revokeAPIKey(id: String) async throws -> Bool {
        try await write { db in
            try await db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING 1", [Timestamp.micros(Date()), id]) > 0
        }
    }

    static func apiKeyRecord(_ row: SQLRow) throws -> APIKeyRecord {
        APIKeyRecord(
            id: try row["id"], name: try row["name"], secretHash: try row["secret_hash"], createdAt: Timestamp.fromMicros(try row["created_at"]),
            revokedAt: (try row["revoked_at"] as Int64?).map(Timestamp.fromMicros))
    }

    public func pendingOutboxEvents(limit: Int) async throws -> [OutboxEvent] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM outbox WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?", [limit]).map(Self.outboxEvent)
        }
    }

    public func markOutboxEventsDispatched(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await write { db in
            try await db.execute("UPDATE outbox SET dispatched_at = ? WHERE id = ANY(?)", [Timestamp.micros(Date()), ids])
        }
    }

    static func outboxEvent(_ row: SQLRow) throws -> OutboxEvent {
        let attributes: [String: String] =
            if let text = try row["attributes"] as String? { try decode([String: String].self, text) } else { [:] }
        return OutboxEvent(
            id: try row["id"], type: try row["type"], resourceID: try row["resource_id"], createdAt: Timestamp.fromMicros(try row["created_at"]),
            attributes: attributes)
    }

    public func resumptionCount(sessionID: String) async throws -> Int {
        try await read { db in
            try await db.scalar(Int.self, "SELECT attempts FROM session_resumptions WHERE session_id = ?", [sessionID]) ?? 0
        }
    }

    public func recordResumption(sessionID: String) async throws -> Int {
        try await write { db in
            try await db.scalar(
                Int.self,
                """
                INSERT INTO session_resumptions (session_id, attempts) VALUES (?, 1)
                ON CONFLICT (session_id) DO UPDATE SET attempts = session_resumptions.attempts + 1 RETURNING attempts
                """, [sessionID]) ?? 1
        }
    }

    public func clearResumptions(sessionID: String) async throws {
        try await write { db in
            try await db.execute("DELETE FROM session_resumptions WHERE session_id = ?", [sessionID])
        }
    }

    public func statusCounts() async throws -> StatusCounts {
        try await read { db in
            func grouped(_ sql: String) async throws -> [String: Int] {
                var counts: [String: Int] = [:]
                for row in try await db.fetchAll(sql) { counts[try row["key"]] = try row["count"] }
                return counts
            }
            var counts = StatusCounts()
            counts.sessions = try await grouped("SELECT status AS key, COUNT(*) AS count FROM sessions GROUP BY status")
            counts.dreams = try await grouped("SELECT status AS key, COUNT(*) AS count FROM dreams GROUP BY status")
            counts.evaluations = try await grouped("SELECT status AS key, COUNT(*) AS count FROM evaluations GROUP BY status")
            counts.webhookDeliveries = try await grouped("SELECT state AS key, COUNT(*) AS count FROM webhook_deliveries GROUP BY state")
            counts.outboxPending = try await db.scalar(Int.self, "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL") ?? 0
            return counts
        }
    }
}
