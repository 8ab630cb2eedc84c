import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func memoryVersion(storeID: String, id: String) async throws -> MemoryVersion? {
        try await read { db in try Self.fetchVersion(storeID: storeID, id: id, db) }
    }

    public func listMemoryVersions(storeID: String, _ filter: MemoryVersionFilter, page: PageRequest) async throws -> Page<MemoryVersion> {
        try await read { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            var query = KeysetQuery(sortColumn: "seq")
            query.filter("store_id = ?", [storeID])
            if let memoryID = filter.memoryID { query.filter("memory_id = ?", [memoryID]) }
            if let operation = filter.operation { query.filter("operation = ?", [operation.rawValue]) }
            if let actor = filter.actor { query.filter("actor_type = ? AND actor_id = ?", [actor.type, actor.id]) }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "memory_versions", select: "*", page: page, decode: Self.version, position: { ($0["seq"], $0["id"]) })
        }
    }

    public func redactMemoryVersion(storeID: String, id: String, actor: MemoryActor, at date: Date) async throws -> MemoryVersion {
        try await write { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            guard let current = try Self.fetchVersion(storeID: storeID, id: id, db) else { throw APIError.notFound("memory version", id) }
            if current.redactedAt != nil { return current }
            try db.execute(
                sql: """
                    UPDATE memory_versions SET path = NULL, content = NULL, content_sha256 = NULL, content_size_bytes = NULL,
                    redacted_at = ?, redacted_by_type = ?, redacted_by_id = ? WHERE id = ?
                    """,
                arguments: [Timestamp.micros(date), actor.type, actor.id, id])
            var next = current
            next.path = nil
            next.content = nil
            next.contentSHA256 = nil
            next.contentSizeBytes = nil
            next.redactedAt = date
            next.redactedBy = actor
            return next
        }
    }

    static func fetchVersion(storeID: String, id: String, _ db: Database) throws -> MemoryVersion? {
        try Row.fetchOne(db, sql: "SELECT * FROM memory_versions WHERE id = ? AND store_id = ?", arguments: [id, storeID]).map(version)
    }

    static func insertVersion(_ version: MemoryVersion, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO memory_versions (id, store_id, memory_id, operation, path, content, content_sha256, content_size_bytes,
                actor_type, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                version.id, version.storeID, version.memoryID, version.operation.rawValue, version.path, version.content, version.contentSHA256,
                version.contentSizeBytes, version.createdBy?.type, version.createdBy?.id, Timestamp.micros(version.createdAt),
            ])
    }

    static func version(_ row: Row) throws -> MemoryVersion {
        let operationText: String = row["operation"]
        guard let operation = MemoryOperation(rawValue: operationText) else {
            throw APIError.internalError("stored memory version has unknown operation '\(operationText)'")
        }
        return MemoryVersion(
            id: row["id"], storeID: row["store_id"], memoryID: row["memory_id"], operation: operation, path: row["path"],
            content: row["content"], contentSHA256: row["content_sha256"], contentSizeBytes: row["content_size_bytes"],
            createdBy: storedActor(type: row["actor_type"], id: row["actor_id"]), createdAt: Timestamp.fromMicros(row["created_at"]),
            redactedAt: (row["redacted_at"] as Int64?).map(Timestamp.fromMicros),
            redactedBy: storedActor(type: row["redacted_by_type"], id: row["redacted_by_id"]))
    }

    private static func storedActor(type: String?, id: String?) -> MemoryActor? {
        guard let type, let id else { return nil }
        return MemoryActor(type: type, id: id)
    }
}
