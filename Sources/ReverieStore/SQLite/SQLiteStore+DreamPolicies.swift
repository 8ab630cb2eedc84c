import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let dreamPoliciesSchema = """
        CREATE TABLE dream_policies (
            memory_store_id TEXT PRIMARY KEY NOT NULL,
            body TEXT NOT NULL
        );
        """

    public func putDreamPolicy(_ policy: DreamPolicy) async throws -> DreamPolicy {
        try await write { db in
            var next = policy
            if let body = try String.fetchOne(db, sql: "SELECT body FROM dream_policies WHERE memory_store_id = ?", arguments: [policy.memoryStoreID]) {
                let current = try Self.decode(DreamPolicy.self, body)
                next.state = current.state
                next.createdAt = current.createdAt
            }
            try db.execute(
                sql: "INSERT INTO dream_policies (memory_store_id, body) VALUES (?, ?) ON CONFLICT(memory_store_id) DO UPDATE SET body = excluded.body",
                arguments: [policy.memoryStoreID, try Self.encode(next)])
            return next
        }
    }

    public func dreamPolicy(memoryStoreID: String) async throws -> DreamPolicy? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM dream_policies WHERE memory_store_id = ?", arguments: [memoryStoreID])
                .map { try Self.decode(DreamPolicy.self, $0) }
        }
    }

    public func updateDreamPolicy(memoryStoreID: String, _ change: @Sendable (DreamPolicy) throws -> DreamPolicy) async throws -> DreamPolicy {
        try await write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM dream_policies WHERE memory_store_id = ?", arguments: [memoryStoreID]) else {
                throw APIError.notFound("dream policy of memory store", memoryStoreID)
            }
            let current = try Self.decode(DreamPolicy.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(sql: "UPDATE dream_policies SET body = ? WHERE memory_store_id = ?", arguments: [try Self.encode(next), memoryStoreID])
            return next
        }
    }

    public func deleteDreamPolicy(memoryStoreID: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM dream_policies WHERE memory_store_id = ?", arguments: [memoryStoreID])
            return db.changesCount > 0
        }
    }

    public func listDreamPolicies() async throws -> [DreamPolicy] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT body FROM dream_policies ORDER BY memory_store_id").map { try Self.decode(DreamPolicy.self, $0) }
        }
    }

    public func endedSessionIDs(mountingMemoryStore storeID: String, since: Date, excluding: Set<String>, limit: Int) async throws -> [String] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT s.id FROM session_memory_stores m JOIN sessions s ON s.id = m.session_id
                    WHERE m.memory_store_id = ? AND s.created_at >= ? AND s.status IN ('idle', 'terminated') AND s.archived_at IS NULL
                    ORDER BY s.created_at, s.id
                    """,
                arguments: [storeID, Timestamp.micros(since)])
            var ids: [String] = []
            for row in rows {
                let id: String = row["id"]
                if excluding.contains(id) { continue }
                ids.append(id)
                if ids.count == limit { break }
            }
            return ids
        }
    }
}
