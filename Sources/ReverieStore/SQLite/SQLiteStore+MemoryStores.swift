import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func createMemoryStore(_ store: MemoryStore) async throws {
        let body = try Self.encode(store)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO memory_stores (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                arguments: [store.id, Timestamp.micros(store.createdAt), store.archivedAt.map(Timestamp.micros), body])
            try Self.enqueue([OutboxEvent(type: "memory_store.created", resourceID: store.id, createdAt: store.createdAt)], db)
        }
    }

    public func memoryStore(id: String) async throws -> MemoryStore? {
        try await read { db in try Self.memoryStore(id: id, db) }
    }

    public func updateMemoryStore(id: String, _ change: @Sendable (MemoryStore) throws -> MemoryStore) async throws -> MemoryStore {
        try await write { db in
            guard let current = try Self.memoryStore(id: id, db) else { throw APIError.notFound("memory store", id) }
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE memory_stores SET archived_at = ?, body = ? WHERE id = ?",
                arguments: [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            if current.archivedAt == nil, let archivedAt = next.archivedAt {
                try Self.enqueue([OutboxEvent(type: "memory_store.archived", resourceID: id, createdAt: archivedAt)], db)
            }
            return next
        }
    }

    public func listMemoryStores(_ filter: MemoryStoreFilter, page: PageRequest) async throws -> Page<MemoryStore> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "memory_stores", select: "id, created_at, body", page: page,
                decode: { try Self.decode(MemoryStore.self, $0["body"]) },
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteMemoryStore(id: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM memory_stores WHERE id = ?", arguments: [id]) != nil else {
                throw APIError.notFound("memory store", id)
            }
            // Children first, explicitly, so the delete does not depend on foreign-key enforcement.
            try db.execute(sql: "DELETE FROM memory_read_versions WHERE store_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM memory_usage WHERE store_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM memory_versions WHERE store_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM memories WHERE store_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM memory_stores WHERE id = ?", arguments: [id])
            try Self.enqueue([OutboxEvent(type: "memory_store.deleted", resourceID: id)], db)
        }
    }

    static func memoryStore(id: String, _ db: Database) throws -> MemoryStore? {
        try String.fetchOne(db, sql: "SELECT body FROM memory_stores WHERE id = ?", arguments: [id])
            .map { try decode(MemoryStore.self, $0) }
    }

    /// The store, which must exist and, when `writable`, not be archived.
    static func requireMemoryStore(id: String, writable: Bool, _ db: Database) throws -> MemoryStore {
        guard let store = try memoryStore(id: id, db) else { throw APIError.notFound("memory store", id) }
        if writable, store.archivedAt != nil { throw APIError.archived("memory store", id) }
        return store
    }
}
