import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

extension Console {
    /// Memory stores, a store's tree, a memory with its version history and diffs, redaction
    /// of a version, pin and unpin.
    func registerMemory<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/memory") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let stores = try await self.platform.memory.listMemoryStores(MemoryStoreFilter(), page: PageRequest(limit: 100))
                let rows: [[String: Any]] = stores.items.map {
                    ["id": $0.id, "name": $0.name, "description": $0.description, "updated": DisplayFormat.shortDate($0.updatedAt)]
                }
                return self.page("memory_stores", title: "Memory stores", section: .memory, signedIn: signedIn, data: ["stores": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/memory/:store_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                try await self.storePage(request, storeID: context.parameters.get("store_id") ?? "", signedIn)
            }
        }
        router.get("console/memory/:store_id/memories/:memory_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                try await self.memoryPage(
                    request, storeID: context.parameters.get("store_id") ?? "", memoryID: context.parameters.get("memory_id") ?? "", signedIn)
            }
        }
        router.post("console/memory/:store_id/memories/:memory_id/pin") { request, context in
            await self.guardedAction(request, context) { signedIn, form in
                let storeID = context.parameters.get("store_id") ?? "", memoryID = context.parameters.get("memory_id") ?? ""
                let memory = try await self.platform.memory.memory(storeID: storeID, id: memoryID)
                _ = try await self.platform.memory.setMemoryPinned(
                    storeID: storeID, path: memory.path, pinned: form.string("pinned") == "true", actor: signedIn.actor)
                return Self.redirect(to: Self.memoryURL(storeID, memoryID))
            }
        }
        router.post("console/memory/:store_id/versions/:version_id/redact") { request, context in
            await self.guardedAction(request, context) { signedIn, _ in
                let storeID = context.parameters.get("store_id") ?? ""
                let version = try await self.platform.memory.redactMemoryVersion(
                    storeID: storeID, id: context.parameters.get("version_id") ?? "", actor: signedIn.actor)
                return Self.redirect(to: Self.memoryURL(storeID, version.memoryID))
            }
        }
    }

    static func memoryURL(_ storeID: String, _ memoryID: String) -> String {
        "/console/memory/\(urlEncoded(storeID))/memories/\(urlEncoded(memoryID))"
    }

    private func storePage(_ request: Request, storeID: String, _ signedIn: SignedIn) async throws -> Response {
        let store = try await platform.memory.memoryStore(id: storeID)
        var prefix = request.uri.queryParameters.get("prefix").flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        if !prefix.hasSuffix("/") { prefix += "/" }
        let listing = try await platform.memory.listMemories(storeID: storeID, MemoryListQuery(pathPrefix: prefix, depth: 1, view: .basic, limit: 500))
        let items: [[String: Any]] = listing.items.map { item in
            switch item {
            case .prefix(let path):
                return ["folder": true, "name": String(path.dropFirst(prefix.count)), "href": "/console/memory/\(urlEncoded(storeID))?prefix=\(urlEncoded(path))"]
            case .memory(let memory):
                return ["folder": false, "name": String(memory.path.dropFirst(prefix.count)), "href": Self.memoryURL(storeID, memory.id),
                        "pinned": memory.pinned, "size": memory.contentSizeBytes, "updated": DisplayFormat.shortDate(memory.updatedAt)]
            }
        }
        // Breadcrumbs: `/`, `/a/`, `/a/b/`.
        var crumbs: [[String: Any]] = [["name": store.name, "href": "/console/memory/\(urlEncoded(storeID))"]]
        var path = "/"
        for part in prefix.split(separator: "/") {
            path += part + "/"
            crumbs.append(["name": String(part), "href": "/console/memory/\(urlEncoded(storeID))?prefix=\(urlEncoded(path))"])
        }
        return page("memory_store", title: store.name, section: .memory, signedIn: signedIn, data: [
            "id": store.id, "name": store.name, "description": store.description, "prefix": prefix, "items": items, "empty": items.isEmpty,
            "crumbs": crumbs, "more": listing.next != nil,
        ])
    }

    private func memoryPage(_ request: Request, storeID: String, memoryID: String, _ signedIn: SignedIn) async throws -> Response {
        let store = try await platform.memory.memoryStore(id: storeID)
        let memory = try await platform.memory.memory(storeID: storeID, id: memoryID)
        let versions = try await platform.memory.listMemoryVersions(
            storeID: storeID, MemoryVersionFilter(memoryID: memoryID), page: PageRequest(limit: 100), view: .full)
        let query = request.uri.queryParameters
        // Default diff: the version before the newest against the newest.
        let toID = query.get("to").flatMap { $0.isEmpty ? nil : $0 } ?? versions.items.first?.id
        let fromID = query.get("from").flatMap { $0.isEmpty ? nil : $0 }
            ?? toID.flatMap { to in versions.items.firstIndex { $0.id == to } }.flatMap { versions.items.indices.contains($0 + 1) ? versions.items[$0 + 1].id : nil }
        var from: MemoryVersion?, to: MemoryVersion?
        if let fromID { from = try await platform.memory.memoryVersion(storeID: storeID, id: fromID) }
        if let toID { to = try await platform.memory.memoryVersion(storeID: storeID, id: toID) }
        for version in [from, to].compactMap({ $0 }) where version.memoryID != memoryID { throw APIError.notFound("memory version", version.id) }
        let diff = LineDiff(from: from?.content ?? "", to: to?.content ?? "")
        let rows: [[String: Any]] = versions.items.map { version in
            var row: [String: Any] = [
                "id": version.id, "operation": version.operation.rawValue, "created": DisplayFormat.shortDate(version.createdAt),
                "redacted": version.redactedAt != nil, "isCurrent": version.id == memory.versionID, "size": version.contentSizeBytes ?? 0,
                "isFrom": version.id == from?.id, "isTo": version.id == to?.id,
            ]
            if let actor = version.createdBy {
                row["actorType"] = actor.type.replacingOccurrences(of: "_actor", with: "").replacingOccurrences(of: "_", with: " ")
                row["actorID"] = actor.id
                if case .session(let id) = actor { row["actorHref"] = "/console/sessions/\(urlEncoded(id))" }
                if case .dream(let id) = actor { row["actorHref"] = "/console/dreams/\(urlEncoded(id))" }
            }
            return row
        }
        return page("memory", title: memory.path, section: .memory, signedIn: signedIn, data: [
            "storeID": storeID, "storeName": store.name, "id": memory.id, "path": memory.path, "content": memory.content ?? "",
            "pinned": memory.pinned, "updated": DisplayFormat.shortDate(memory.updatedAt), "sha": memory.contentSHA256,
            "versions": rows, "diff": diff.view, "hasDiff": from != nil || to != nil, "noChanges": !diff.hasChanges,
            "fromID": from?.id ?? "", "toID": to?.id ?? "", "fromRedacted": from?.redactedAt != nil, "toRedacted": to?.redactedAt != nil,
            "url": Self.memoryURL(storeID, memoryID),
        ])
    }
}
