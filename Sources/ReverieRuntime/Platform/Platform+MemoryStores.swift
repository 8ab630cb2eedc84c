import Foundation
import ReverieCore
import ReverieStore

extension Platform {
    /// `POST /v1/memory_stores`.
    public func createMemoryStore(_ body: ObjectReader) async throws -> MemoryStore {
        let request = try MemoryStoreRequest(body, creating: true)
        let now = Timestamp.now()
        let memoryStore = try request.makeStore(id: ResourceID.make(ResourceID.memoryStore, at: now), now: now)
        try await store.createMemoryStore(memoryStore)
        return memoryStore
    }

    /// `GET /v1/memory_stores/{id}`.
    public func memoryStore(id: String) async throws -> MemoryStore {
        guard let memoryStore = try await store.memoryStore(id: id) else { throw APIError.notFound("memory store", id) }
        return memoryStore
    }

    /// `POST /v1/memory_stores/{id}`: refused for archived stores.
    public func updateMemoryStore(id: String, _ body: ObjectReader) async throws -> MemoryStore {
        let request = try MemoryStoreRequest(body, creating: false)
        let now = Timestamp.now()
        return try await store.updateMemoryStore(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("memory store", id) }
            return try request.applied(to: current, now: now)
        }
    }

    /// `GET /v1/memory_stores`.
    public func listMemoryStores(_ filter: MemoryStoreFilter, page: PageRequest) async throws -> Page<MemoryStore> {
        try await store.listMemoryStores(filter, page: page)
    }

    /// `DELETE /v1/memory_stores/{id}`: the store, its memories and their versions.
    public func deleteMemoryStore(id: String) async throws {
        try await store.deleteMemoryStore(id: id)
    }

    /// `POST /v1/memory_stores/{id}/archive`: idempotent; an archived store is read-only and
    /// can't be mounted into new sessions.
    public func archiveMemoryStore(id: String) async throws -> MemoryStore {
        let now = Timestamp.now()
        return try await store.updateMemoryStore(id: id) { current in
            guard current.archivedAt == nil else { return current }
            var next = current
            next.archivedAt = now
            next.updatedAt = now
            return next
        }
    }
}
