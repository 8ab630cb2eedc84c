import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `/v1/memory_stores`, their `memories` and `memory_versions`, and the Reverie extension
/// `GET …/memories/{memory_id}/usage`.
struct MemoryRoutes {
    let memory: MemoryService

    func register(on router: Router<ReverieRequestContext>) {
        let stores = router.group("v1/memory_stores")
        stores.post { request, context in
            try JSONResponse.encode(try await self.memory.createMemoryStore(MemoryStoreRequest(try await request.jsonObject(context: context), creating: true)))
        }
        stores.get { request, _ in
            let query = request.query
            let filter = MemoryStoreFilter(includeArchived: try query.bool("include_archived"), createdAt: try query.timeRange("created_at"))
            return try JSONResponse.page(try await self.memory.listMemoryStores(filter, page: try query.page()))
        }
        stores.get(":memory_store_id") { _, context in
            try JSONResponse.encode(try await self.memory.memoryStore(id: try context.pathParameter("memory_store_id")))
        }
        stores.post(":memory_store_id") { request, context in
            let id = try context.pathParameter("memory_store_id")
            return try JSONResponse.encode(try await self.memory.updateMemoryStore(id: id, MemoryStoreRequest(try await request.jsonObject(context: context), creating: false)))
        }
        stores.delete(":memory_store_id") { _, context in
            let id = try context.pathParameter("memory_store_id")
            try await self.memory.deleteMemoryStore(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "memory_store_deleted"])
        }
        stores.post(":memory_store_id/archive") { _, context in
            try JSONResponse.encode(try await self.memory.archiveMemoryStore(id: try context.pathParameter("memory_store_id")))
        }

        // Memories.
        stores.post(":memory_store_id/memories") { request, context in
            let storeID = try context.pathParameter("memory_store_id")
            let view = try Self.view(request.query, default: .basic)
            let memory = try await self.memory.createMemory(storeID: storeID, try MemoryCreateRequest(try await request.jsonObject(context: context)), actor: context.memoryActor)
            return try JSONResponse.encode(memory.rendered(view))
        }
        stores.get(":memory_store_id/memories") { request, context in
            let storeID = try context.pathParameter("memory_store_id")
            let query = request.query
            var listQuery = MemoryListQuery(
                pathPrefix: query.string("path_prefix").flatMap { $0.isEmpty ? nil : $0 } ?? "/",
                depth: try query.int("depth", default: 0, range: 0...MemoryPath.maxSegments),
                view: try Self.view(query, default: .basic))
            let page = try query.page()
            listQuery.limit = page.limit
            if let cursor = page.cursor { listQuery.after = MemoryListPosition(cursor: cursor) }
            return try JSONResponse.page(try await self.memory.listMemories(storeID: storeID, listQuery))
        }
        stores.get(":memory_store_id/memories/:memory_id") { request, context in
            let view = try Self.view(request.query, default: .full)
            let memory = try await self.memory.memory(
                storeID: try context.pathParameter("memory_store_id"), id: try context.pathParameter("memory_id"))
            return try JSONResponse.encode(memory.rendered(view))
        }
        stores.post(":memory_store_id/memories/:memory_id") { request, context in
            let view = try Self.view(request.query, default: .basic)
            let memory = try await self.memory.updateMemory(
                storeID: try context.pathParameter("memory_store_id"), id: try context.pathParameter("memory_id"),
                try MemoryUpdateRequest(try await request.jsonObject(context: context)), actor: context.memoryActor)
            return try JSONResponse.encode(memory.rendered(view))
        }
        stores.delete(":memory_store_id/memories/:memory_id") { request, context in
            let id = try context.pathParameter("memory_id")
            let expected = request.query.string("expected_content_sha256").flatMap { $0.isEmpty ? nil : $0 }
            try await self.memory.deleteMemory(
                storeID: try context.pathParameter("memory_store_id"), id: id, expectedSHA256: expected, actor: context.memoryActor)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "memory_deleted"])
        }
        stores.get(":memory_store_id/memories/:memory_id/usage") { request, context in
            let page = try await self.memory.memoryUsage(
                storeID: try context.pathParameter("memory_store_id"), memoryID: try context.pathParameter("memory_id"),
                page: try request.query.page())
            return try JSONResponse.page(page)
        }

        // Memory versions.
        stores.get(":memory_store_id/memory_versions") { request, context in
            let storeID = try context.pathParameter("memory_store_id")
            let query = request.query
            var filter = MemoryVersionFilter(memoryID: query.string("memory_id").flatMap { $0.isEmpty ? nil : $0 }, createdAt: try query.timeRange("created_at"))
            if let text = query.string("operation"), !text.isEmpty {
                guard let operation = MemoryOperation(rawValue: text) else {
                    throw APIError.invalidRequest("operation: must be 'created', 'modified' or 'deleted' (got '\(text)')")
                }
                filter.operation = operation
            }
            var actors: [MemoryActor] = []
            if let id = query.string("api_key_id"), !id.isEmpty { actors.append(.apiKey(id)) }
            if let id = query.string("session_id"), !id.isEmpty { actors.append(.session(id)) }
            if let id = query.string("service_account_id"), !id.isEmpty { actors.append(.serviceAccount(id)) }
            let page = try query.page()
            if actors.count > 1 {
                // A version has one author, so two different author filters match nothing.
                return JSONResponse.page([], next: nil)
            }
            filter.actor = actors.first
            return try JSONResponse.page(
                try await self.memory.listMemoryVersions(storeID: storeID, filter, page: page, view: try Self.view(query, default: .basic)))
        }
        stores.get(":memory_store_id/memory_versions/:memory_version_id") { request, context in
            let view = try Self.view(request.query, default: .full)
            let version = try await self.memory.memoryVersion(
                storeID: try context.pathParameter("memory_store_id"), id: try context.pathParameter("memory_version_id"))
            return try JSONResponse.encode(version.rendered(view))
        }
        stores.post(":memory_store_id/memory_versions/:memory_version_id/redact") { _, context in
            try JSONResponse.encode(
                try await self.memory.redactMemoryVersion(
                    storeID: try context.pathParameter("memory_store_id"), id: try context.pathParameter("memory_version_id"),
                    actor: context.memoryActor))
        }
    }

    /// The `view` query parameter.
    static func view(_ query: QueryParameters, default defaultView: MemoryView) throws(APIError) -> MemoryView {
        guard let text = query.string("view"), !text.isEmpty else { return defaultView }
        guard let view = MemoryView(rawValue: text) else { throw APIError.invalidRequest("view: must be 'basic' or 'full' (got '\(text)')") }
        return view
    }
}

extension ReverieRequestContext {
    /// The actor API requests act as: the API key that authenticated them, or the session whose work item's token did.
    var memoryActor: MemoryActor {
        // A worker syncing a session's mounted store writes as that session's agent.
        if case .workItem(_, _, let sessionID)? = credential { return .session(sessionID) }
        return .apiKey(apiKeyID ?? "apikey_static")
    }
}
