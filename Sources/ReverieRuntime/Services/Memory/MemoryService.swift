import Foundation
import ReverieCore
import ReverieStore

/// Memory stores, memories and their versions: the API's `/v1/memory_stores`, and the
/// path-based access that session mounts and dreams use. Every write is a memory version
/// attributed to its actor.
public struct MemoryService: Sendable {
    let store: any Store

    public init(store: any Store) {
        self.store = store
    }
}

extension MemoryService {
    /// `POST /v1/memory_stores`.
    public func createMemoryStore(_ request: MemoryStoreRequest) async throws -> MemoryStore {
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
    public func updateMemoryStore(id: String, _ request: MemoryStoreRequest) async throws -> MemoryStore {
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
