import Foundation
import ReverieCore
import ReverieStore

extension MemoryService {
    /// `POST /v1/memory_stores/{id}/memories`: a path already in use is a `memory_path_conflict_error`.
    public func createMemory(storeID: String, _ request: MemoryCreateRequest, actor: MemoryActor) async throws -> Memory {
        return try await store.createMemory(
            storeID: storeID, path: request.path, content: request.content, pinned: request.pinned, actor: actor, at: Timestamp.now())
    }

    /// `GET /v1/memory_stores/{id}/memories/{memory_id}`.
    public func memory(storeID: String, id: String) async throws -> Memory {
        if let memory = try await store.memory(storeID: storeID, id: id) { return memory }
        _ = try await memoryStore(id: storeID)
        throw APIError.notFound("memory", id)
    }

    /// `POST /v1/memory_stores/{id}/memories/{memory_id}`: new content and/or path (and the
    /// `pinned` extension), applied only if `precondition` still holds.
    public func updateMemory(storeID: String, id: String, _ request: MemoryUpdateRequest, actor: MemoryActor) async throws -> Memory {
        return try await store.updateMemory(storeID: storeID, id: id, request.change, actor: actor, at: Timestamp.now())
    }

    /// `GET /v1/memory_stores/{id}/memories`.
    public func listMemories(storeID: String, _ query: MemoryListQuery) async throws -> Page<MemoryListItem> {
        try MemoryPath.validatePrefix(query.pathPrefix)
        if query.depth < 0 { throw APIError.invalidRequest("depth: must be at least 0 (got \(query.depth))") }
        var query = query
        if query.view == .full { query.limit = min(query.limit, MemoryView.maxFullPageSize) }
        return try await store.listMemories(storeID: storeID, query)
    }

    /// `DELETE /v1/memory_stores/{id}/memories/{memory_id}`: writes the memory's `deleted` version.
    @discardableResult
    public func deleteMemory(storeID: String, id: String, expectedSHA256: String?, actor: MemoryActor) async throws -> Memory {
        if let expectedSHA256 { try MemoryPath.validateSHA256(expectedSHA256, field: FieldPath("expected_content_sha256")) }
        return try await store.deleteMemory(storeID: storeID, id: id, expectedSHA256: expectedSHA256, actor: actor, at: Timestamp.now())
    }

    /// `GET /v1/memory_stores/{id}/memory_versions/{version_id}`.
    public func memoryVersion(storeID: String, id: String) async throws -> MemoryVersion {
        if let version = try await store.memoryVersion(storeID: storeID, id: id) { return version }
        _ = try await memoryStore(id: storeID)
        throw APIError.notFound("memory version", id)
    }

    /// `GET /v1/memory_stores/{id}/memory_versions`, newest first.
    public func listMemoryVersions(storeID: String, _ filter: MemoryVersionFilter, page: PageRequest, view: MemoryView) async throws
        -> Page<MemoryVersion>
    {
        var page = page
        if view == .full { page.limit = min(page.limit, MemoryView.maxFullPageSize) }
        return try await store.listMemoryVersions(storeID: storeID, filter, page: page).map { $0.rendered(view) }
    }

    /// `POST /v1/memory_stores/{id}/memory_versions/{version_id}/redact`: clears the version's
    /// path and content for good; the memory itself keeps its current content.
    public func redactMemoryVersion(storeID: String, id: String, actor: MemoryActor) async throws -> MemoryVersion {
        try await store.redactMemoryVersion(storeID: storeID, id: id, actor: actor, at: Timestamp.now())
    }

    /// How sessions used a memory (Reverie extension `GET …/memories/{memory_id}/usage`).
    public func memoryUsage(storeID: String, memoryID: String, page: PageRequest = PageRequest()) async throws -> Page<MemoryUsage> {
        try await store.memoryUsage(storeID: storeID, memoryID: memoryID, page: page)
    }
}
