import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let workQueueSchema = """
        CREATE TABLE work_items (
            id TEXT PRIMARY KEY,
            environment_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            state TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            acknowledged_at INTEGER,
            started_at INTEGER,
            latest_heartbeat_at INTEGER,
            stop_requested_at INTEGER,
            stopped_at INTEGER,
            lease_expires_at INTEGER,
            lease_ttl_seconds INTEGER NOT NULL,
            polled_at INTEGER,
            polled_by TEXT,
            secret_hash TEXT
        );
        CREATE INDEX work_items_queue ON work_items(environment_id, state, created_at);
        CREATE INDEX work_items_session ON work_items(session_id, state);
        CREATE INDEX work_items_secret ON work_items(secret_hash) WHERE secret_hash IS NOT NULL;
        CREATE TABLE environment_keys (
            id TEXT PRIMARY KEY,
            environment_id TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE INDEX environment_keys_environment ON environment_keys(environment_id, created_at);
        """

    public func ensureWorkItem(sessionID: String, environmentID: String, make: @Sendable () -> WorkItem) async throws -> (item: WorkItem, created: Bool) {
        try await write { db in
            if let row = try Row.fetchOne(
                db, sql: "SELECT * FROM work_items WHERE session_id = ? AND state != 'stopped' ORDER BY created_at DESC LIMIT 1", arguments: [sessionID])
            {
                let live = try Self.workItem(row)
                let settled = live.settled(at: Date())
                if settled.isLive { return (live, false) }
                try Self.save(settled, db)
            }
            let item = make()
            try Self.insert(item, db)
            // The session now waits for a worker of its self-hosted environment.
            try Self.enqueue([OutboxEvent(type: "session.pending", resourceID: sessionID, createdAt: item.createdAt)], db)
            return (item, true)
        }
    }

    public func claimWorkItem(
        environmentID: String, claimable: @Sendable (WorkItem) -> Bool, claim: @Sendable (WorkItem) -> WorkItem
    ) async throws -> WorkItem? {
        // Most polls find nothing: look first without taking the writer.
        let candidates = try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active')", arguments: [environmentID]
            ).map(Self.workItem)
        }
        guard candidates.contains(where: claimable) else { return nil }
        return try await write { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT * FROM work_items WHERE environment_id = ? AND state IN ('queued', 'starting', 'active') ORDER BY created_at, id",
                arguments: [environmentID])
            while let row = try rows.next() {
                let item = try Self.workItem(row)
                guard claimable(item) else { continue }
                let claimed = claim(item)
                try Self.save(claimed, db)
                return claimed
            }
            return nil
        }
    }

    public func workItem(environmentID: String, id: String) async throws -> WorkItem? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM work_items WHERE id = ? AND environment_id = ?", arguments: [id, environmentID]).map(Self.workItem)
        }
    }

    public func workItem(secretHash: String) async throws -> WorkItem? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM work_items WHERE secret_hash = ?", arguments: [secretHash]).map(Self.workItem)
        }
    }

    public func updateWorkItem<T: Sendable>(
        environmentID: String, id: String, _ change: @Sendable (WorkItem) throws -> (WorkItem, T)
    ) async throws -> (WorkItem, T) {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM work_items WHERE id = ? AND environment_id = ?", arguments: [id, environmentID])
            else { throw APIError.notFound("work", id) }
            let current = try Self.workItem(row)
            let (next, value) = try change(current)
            if next != current { try Self.save(next, db) }
            return (next, value)
        }
    }

    public func listWorkItems(environmentID: String, page: PageRequest) async throws -> Page<WorkItem> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            query.filter("environment_id = ?", [environmentID])
            return try query.page(
                db, from: "work_items", select: "*", page: page, decode: Self.workItem,
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func liveWorkItems(environmentID: String) async throws -> [WorkItem] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM work_items WHERE environment_id = ? AND state != 'stopped' ORDER BY created_at, id", arguments: [environmentID]
            ).map(Self.workItem)
        }
    }

    public func createEnvironmentKey(_ key: EnvironmentKey) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO environment_keys (id, environment_id, name, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [key.id, key.environmentID, key.name, key.secretHash, Timestamp.micros(key.createdAt), key.revokedAt.map(Timestamp.micros)])
        }
    }

    public func environmentKey(hash: String) async throws -> EnvironmentKey? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM environment_keys WHERE secret_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .map(Self.environmentKey)
        }
    }

    public func listEnvironmentKeys(environmentID: String) async throws -> [EnvironmentKey] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM environment_keys WHERE environment_id = ? ORDER BY created_at, id", arguments: [environmentID])
                .map(Self.environmentKey)
        }
    }

    public func revokeEnvironmentKey(environmentID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM environment_keys WHERE id = ? AND environment_id = ?", arguments: [id, environmentID]) != nil
            else { return false }
            try db.execute(
                sql: "UPDATE environment_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Timestamp.micros(Date()), id])
            return true
        }
    }

    // MARK: rows

    private static func insert(_ item: WorkItem, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO work_items (id, environment_id, session_id, state, metadata, created_at, acknowledged_at, started_at,
                    latest_heartbeat_at, stop_requested_at, stopped_at, lease_expires_at, lease_ttl_seconds, polled_at, polled_by, secret_hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [item.id, item.environmentID, item.sessionID] + (try columns(item)))
    }

    private static func save(_ item: WorkItem, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE work_items SET state = ?, metadata = ?, created_at = ?, acknowledged_at = ?, started_at = ?, latest_heartbeat_at = ?,
                    stop_requested_at = ?, stopped_at = ?, lease_expires_at = ?, lease_ttl_seconds = ?, polled_at = ?, polled_by = ?, secret_hash = ?
                WHERE id = ?
                """,
            arguments: (try columns(item)) + [item.id])
    }

    private static func columns(_ item: WorkItem) throws -> StatementArguments {
        let micros: (Date?) -> Int64? = { $0.map(Timestamp.micros) }
        return [
            item.state.rawValue, try JSONCoding.string(item.metadata), Timestamp.micros(item.createdAt), micros(item.acknowledgedAt),
            micros(item.startedAt), micros(item.latestHeartbeatAt), micros(item.stopRequestedAt), micros(item.stoppedAt),
            micros(item.leaseExpiresAt), item.leaseTTLSeconds, micros(item.polledAt), item.polledBy, item.secretHash,
        ]
    }

    static func workItem(_ row: Row) throws -> WorkItem {
        let date: (String) -> Date? = { column in (row[column] as Int64?).map(Timestamp.fromMicros) }
        let metadata = try JSONCoding.decoder().decode([String: String].self, from: Data((row["metadata"] as String).utf8))
        return WorkItem(
            id: row["id"], environmentID: row["environment_id"], sessionID: row["session_id"],
            state: WorkState(rawValue: row["state"]) ?? .stopped, metadata: metadata, createdAt: Timestamp.fromMicros(row["created_at"]),
            acknowledgedAt: date("acknowledged_at"), startedAt: date("started_at"), latestHeartbeatAt: date("latest_heartbeat_at"),
            stopRequestedAt: date("stop_requested_at"), stoppedAt: date("stopped_at"), leaseExpiresAt: date("lease_expires_at"),
            leaseTTLSeconds: row["lease_ttl_seconds"], polledAt: date("polled_at"), polledBy: row["polled_by"], secretHash: row["secret_hash"])
    }

    static func environmentKey(_ row: Row) -> EnvironmentKey {
        EnvironmentKey(
            id: row["id"], environmentID: row["environment_id"], name: row["name"], secretHash: row["secret_hash"],
            createdAt: Timestamp.fromMicros(row["created_at"]), revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
