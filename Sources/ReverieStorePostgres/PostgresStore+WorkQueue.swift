import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func ensureWorkItem(sessionID: String, environmentID: String, make: @Sendable () -> WorkItem) async throws -> (item: WorkItem, created: Bool) {
        try await write { db in
            // One live item per session, even when two processes ask at once.
            try await db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ["work_item:" + sessionID])
            if let row = try await db.fetchOne(
                "SELECT * FROM work_items WHERE session_id = ? AND state != 'stopped' ORDER BY created_at DESC LIMIT 1 FOR UPDATE", [sessionID])
            {
                let live = try Self.workItem(row)
                let settled = live.settled(at: Date())
                if settled.isLive { return (live, false) }
                try await Self.save(settled, db)
            }
            let item = make()
            try await Self.insert(item, db)
            // The session now waits for a worker of its self-hosted environment.
            try await Self.enqueue([OutboxEvent(type: "session.pending", resourceID: sessionID, createdAt: item.createdAt)], db)
            return (item, true)
        }
    }

    /// Claims the oldest claimable item, skipping rows another process has locked
    /// (`FOR UPDATE SKIP LOCKED`), so two pollers never claim the same item.
    public func claimWorkItem(
        environmentID: String, claimable: @Sendable (WorkItem) -> Bool, claim: @Sendable (WorkItem) -> WorkItem
    ) async throws -> WorkItem? {
        let candidates = try await read { db in
            try await db.fetchAll(
                "SELECT * FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')", [environmentID]
            ).map(Self.workItem)
        }
        guard candidates.contains(where: claimable) else { return nil }
        return try await write { db in
            let rows = try await db.fetchAll(
                """
                SELECT * FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')
                ORDER BY created_at, id FOR UPDATE SKIP LOCKED
                """, [environmentID])
            for row in rows {
                let item = try Self.workItem(row)
                guard claimable(item) else { continue }
                let claimed = claim(item)
                try await Self.save(claimed, db)
                return claimed
            }
            return nil
        }
    }

    public func workItem(environmentID: String, id: String) async throws -> WorkItem? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM work_items WHERE id = ? AND environment_id = ?", [id, environmentID]).map(Self.workItem)
        }
    }

    public func workItem(secretHash: String) async throws -> WorkItem? {
        try await read { db in try await db.fetchOne("SELECT * FROM work_items WHERE secret_hash = ?", [secretHash]).map(Self.workItem) }
    }

    public func updateWorkItem<T: Sendable>(
        environmentID: String, id: String, _ change: @Sendable (WorkItem) throws -> (WorkItem, T)
    ) async throws -> (WorkItem, T) {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT * FROM work_items WHERE id = ? AND environment_id = ? FOR UPDATE", [id, environmentID])
            else { throw APIError.notFound("work", id) }
            let current = try Self.workItem(row)
            let (next, value) = try change(current)
            if next != current { try await Self.save(next, db) }
            return (next, value)
        }
    }

    public func listWorkItems(environmentID: String, page: PageRequest) async throws -> Page<WorkItem> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            query.filter("environment_id = ?", [environmentID])
            return try await query.page(
                db, from: "work_items", select: "*", page: page, decode: Self.workItem, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func liveWorkItems(environmentID: String) async throws -> [WorkItem] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM work_items WHERE environment_id = ? AND state != 'stopped' ORDER BY created_at, id", [environmentID])
                .map(Self.workItem)
        }
    }

    public func createEnvironmentKey(_ key: EnvironmentKey) async throws {
        try await write { db in
            try await db.execute(
                "INSERT INTO environment_keys (id, environment_id, name, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                [key.id, key.environmentID, key.name, key.secretHash, Timestamp.micros(key.createdAt), key.revokedAt.map(Timestamp.micros)])
        }
    }

    public func environmentKey(hash: String) async throws -> EnvironmentKey? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM environment_keys WHERE secret_hash = ? AND revoked_at IS NULL", [hash]).map(Self.environmentKey)
        }
    }

    public func listEnvironmentKeys(environmentID: String) async throws -> [EnvironmentKey] {
        try await read { db in
            try await db.fetchAll("SELECT * FROM environment_keys WHERE environment_id = ? ORDER BY created_at, id", [environmentID])
                .map(Self.environmentKey)
        }
    }

    public func revokeEnvironmentKey(environmentID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM environment_keys WHERE id = ? AND environment_id = ? FOR UPDATE", [id, environmentID]) != nil
            else { return false }
            try await db.execute("UPDATE environment_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [Timestamp.micros(Date()), id])
            return true
        }
    }

    private static func insert(_ item: WorkItem, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            INSERT INTO work_items (id, environment_id, session_id, state, metadata, created_at, acknowledged_at, started_at,
                latest_heartbeat_at, stop_requested_at, stopped_at, lease_expires_at, lease_ttl_seconds, polled_at, polled_by, secret_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [item.id, item.environmentID, item.sessionID] + (try columns(item)))
    }

    private static func save(_ item: WorkItem, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            UPDATE work_items SET state = ?, metadata = ?, created_at = ?, acknowledged_at = ?, started_at = ?, latest_heartbeat_at = ?,
                stop_requested_at = ?, stopped_at = ?, lease_expires_at = ?, lease_ttl_seconds = ?, polled_at = ?, polled_by = ?, secret_hash = ?
            WHERE id = ?
            """,
            (try columns(item)) + [item.id])
    }

    private static func columns(_ item: WorkItem) throws -> [any SQLValueConvertible] {
        let micros: (Date?) -> Int64? = { $0.map(Timestamp.micros) }
        return [
            item.state.rawValue, try JSONCoding.string(item.metadata), Timestamp.micros(item.createdAt), micros(item.acknowledgedAt),
            micros(item.startedAt), micros(item.latestHeartbeatAt), micros(item.stopRequestedAt), micros(item.stoppedAt),
            micros(item.leaseExpiresAt), item.leaseTTLSeconds, micros(item.polledAt), item.polledBy, item.secretHash,
        ]
    }

    static func workItem(_ row: SQLRow) throws -> WorkItem {
        let date: (String) throws -> Date? = { column in (try row[column] as Int64?).map(Timestamp.fromMicros) }
        let metadata = try JSONCoding.decoder().decode([String: String].self, from: Data((try row["metadata"] as String).utf8))
        return WorkItem(
            id: try row["id"], environmentID: try row["environment_id"], sessionID: try row["session_id"],
            state: WorkState(rawValue: try row["state"]) ?? .stopped, metadata: metadata, createdAt: Timestamp.fromMicros(try row["created_at"]),
            acknowledgedAt: try date("acknowledged_at"), startedAt: try date("started_at"), latestHeartbeatAt: try date("latest_heartbeat_at"),
            stopRequestedAt: try date("stop_requested_at"), stoppedAt: try date("stopped_at"), leaseExpiresAt: try date("lease_expires_at"),
            leaseTTLSeconds: try row["lease_ttl_seconds"], polledAt: try date("polled_at"), polledBy: try row["polled_by"],
            secretHash: try row["secret_hash"])
    }

    static func environmentKey(_ row: SQLRow) throws -> EnvironmentKey {
        EnvironmentKey(
            id: try row["id"], environmentID: try row["environment_id"], name: try row["name"], secretHash: try row["secret_hash"],
            createdAt: Timestamp.fromMicros(try row["created_at"]), revokedAt: (try row["revoked_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
