import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryOperationsTests {
    @Test(arguments: StoreBackend.allCases) func storeLifecycleAndOutbox(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let created = try await platform.memory.createMemoryStore(
                MemoryStoreRequest(try ObjectReader(["name": "Prefs", "description": "what the user likes", "metadata": ["owner": "u1"]]), creating: true))
            #expect(created.description == "what the user likes")
            let updated = try await platform.memory.updateMemoryStore(id: created.id, MemoryStoreRequest(try ObjectReader(["description": "", "metadata": ["owner": nil]]), creating: false))
            #expect(updated.description == "")
            #expect(updated.metadata.isEmpty)
            let archived = try await platform.memory.archiveMemoryStore(id: created.id)
            #expect(archived.archivedAt != nil)
            #expect(try await platform.memory.archiveMemoryStore(id: created.id) == archived)
            await #expect(throws: APIError.archived("memory store", created.id)) {
                _ = try await platform.memory.updateMemoryStore(id: created.id, MemoryStoreRequest(try ObjectReader(["name": "x"]), creating: false))
            }
            await #expect(throws: APIError.archived("memory store", created.id)) {
                _ = try await platform.memory.createMemory(storeID: created.id, try MemoryCreateRequest(ObjectReader(["path": "/a", "content": "x"])), actor: apiActor)
            }
            #expect(try await platform.memory.listMemoryStores(MemoryStoreFilter(), page: PageRequest()).items.isEmpty)
            #expect(try await platform.memory.listMemoryStores(MemoryStoreFilter(includeArchived: true), page: PageRequest()).items.map(\.id) == [created.id])
            try await platform.memory.deleteMemoryStore(id: created.id)
            await #expect(throws: APIError.notFound("memory store", created.id)) { _ = try await platform.memory.memoryStore(id: created.id) }
            let outbox = try await fixture.store.pendingOutboxEvents(limit: 100).filter { $0.resourceID == created.id }.map(\.type)
            #expect(outbox == ["memory_store.created", "memory_store.archived", "memory_store.deleted"])
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func storeNameRules(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            await #expect(throws: APIError.invalidRequest("name: required")) {
                _ = try await fixture.platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["description": "x"]), creating: true))
            }
            await #expect(throws: APIError.self) { _ = try await fixture.platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["name": ""]), creating: true)) }
            await #expect(throws: APIError.invalidRequest("name: must not contain control characters")) {
                _ = try await fixture.platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["name": "a\u{0}b"]), creating: true))
            }
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func versionsOnCreateUpdateDelete(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let memory = try await platform.memory.createMemory(storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": "/a.md", "content": "one"])), actor: apiActor)
            #expect(memory.contentSHA256 == MemoryPath.sha256("one"))
            #expect(memory.contentSizeBytes == 3)
            let renamed = try await platform.memory.updateMemory(
                storeID: store.id, id: memory.id, try MemoryUpdateRequest(ObjectReader(["path": "/b.md", "content": "two!"])), actor: .session("sesn_x"))
            #expect(renamed.id == memory.id)
            #expect(renamed.path == "/b.md")
            #expect(renamed.versionID != memory.versionID)
            try await platform.memory.deleteMemory(storeID: store.id, id: memory.id, expectedSHA256: nil, actor: .dream("drm_x"))
            await #expect(throws: APIError.notFound("memory", memory.id)) { _ = try await platform.memory.memory(storeID: store.id, id: memory.id) }

            let versions = try await platform.memory.listMemoryVersions(
                storeID: store.id, MemoryVersionFilter(memoryID: memory.id), page: PageRequest(), view: .full
            ).items
            #expect(versions.map(\.operation) == [.deleted, .modified, .created])
            #expect(versions.map(\.createdBy) == [.dream("drm_x"), .session("sesn_x"), apiActor])
            #expect(versions[2].id == memory.versionID)
            #expect(versions[2].content == "one")
            #expect(versions[2].path == "/a.md")
            #expect(versions[1].content == "two!")
            #expect(versions[1].path == "/b.md")
            #expect(versions[1].contentSizeBytes == 4)
            #expect(versions[0].content == nil)
            #expect(versions[0].contentSHA256 == nil)
            #expect(versions[0].path == "/b.md")

            let basic = try await platform.memory.listMemoryVersions(storeID: store.id, MemoryVersionFilter(), page: PageRequest(), view: .basic).items
            #expect(basic.allSatisfy { $0.content == nil })
            #expect(basic[1].contentSHA256 == MemoryPath.sha256("two!"))
            let bySession = try await platform.memory.listMemoryVersions(
                storeID: store.id, MemoryVersionFilter(actor: .session("sesn_x")), page: PageRequest(), view: .basic).items
            #expect(bySession.map(\.operation) == [.modified])
            let created = try await platform.memory.listMemoryVersions(
                storeID: store.id, MemoryVersionFilter(operation: .created), page: PageRequest(), view: .basic).items
            #expect(created.map(\.id) == [memory.versionID])
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func pathConflicts(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            _ = try await platform.memory.writeMemory(storeID: store.id, path: "/a/b.md", content: "x", actor: apiActor)
            let other = try await platform.memory.writeMemory(storeID: store.id, path: "/c.md", content: "y", actor: apiActor)
            for path in ["/a/b.md", "/a", "/a/b.md/c"] {
                do {
                    _ = try await platform.memory.createMemory(storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": .string(path), "content": ""])), actor: apiActor)
                    Issue.record("created \(path)")
                } catch let error as APIError {
                    #expect(error.kind == .memoryPathConflict)
                    }
            }
            await #expect(throws: APIError(.memoryPathConflict, "path: a memory already exists at '/a/b.md'")) {
                _ = try await platform.memory.updateMemory(storeID: store.id, id: other.id, try MemoryUpdateRequest(ObjectReader(["path": "/a/b.md"])), actor: apiActor)
            }
            // Case-sensitive: a different case is a different path.
            _ = try await platform.memory.createMemory(storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": "/A/b.md", "content": ""])), actor: apiActor)
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func preconditionMismatchIs409AndChangesNothing(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let memory = try await platform.memory.writeMemory(storeID: store.id, path: "/x", content: "v1", actor: apiActor)
            let wrong = MemoryPath.sha256("something else")
            do {
                _ = try await platform.memory.updateMemory(
                    storeID: store.id, id: memory.id,
                    try MemoryUpdateRequest(ObjectReader(["content": "v2", "precondition": ["type": "content_sha256", "content_sha256": .string(wrong)]])), actor: apiActor)
                Issue.record("update applied")
            } catch let error as APIError {
                #expect(error.kind == .memoryPreconditionFailed)
            }
            await #expect(throws: APIError.self) {
                try await platform.memory.deleteMemory(storeID: store.id, id: memory.id, expectedSHA256: wrong, actor: apiActor)
            }
            #expect(try await platform.memory.memory(storeID: store.id, id: memory.id).content == "v1")
            let ok = try await platform.memory.updateMemory(
                storeID: store.id, id: memory.id,
                try MemoryUpdateRequest(ObjectReader(["content": "v2", "precondition": ["type": "content_sha256", "content_sha256": .string(memory.contentSHA256)]])),
                actor: apiActor)
            #expect(ok.content == "v2")
            await #expect(throws: APIError.self) {
                _ = try await platform.memory.updateMemory(
                    storeID: store.id, id: memory.id, try MemoryUpdateRequest(ObjectReader(["precondition": ["type": "etag", "content_sha256": .string(wrong)]])),
                    actor: apiActor)
            }
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func racingConditionalWritersExactlyOneWins(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            for round in 0..<20 {
                let memory = try await platform.memory.writeMemory(storeID: store.id, path: "/race-\(round)", content: "base", actor: apiActor)
                let results = await withTaskGroup(of: Result<Memory, any Error>.self) { group in
                    for writer in 0..<2 {
                        group.addTask {
                            do {
                                return .success(try await platform.memory.updateMemory(
                                    storeID: store.id, id: memory.id,
                                    try MemoryUpdateRequest(ObjectReader([
                                        "content": .string("writer \(writer)"),
                                        "precondition": ["type": "content_sha256", "content_sha256": .string(memory.contentSHA256)],
                                    ])), actor: .session("sesn_\(writer)")))
                            } catch {
                                return .failure(error)
                            }
                        }
                    }
                    var collected: [Result<Memory, any Error>] = []
                    for await result in group { collected.append(result) }
                    return collected
                }
                let winners = results.compactMap { try? $0.get() }
                let losers = results.compactMap { result -> APIError? in
                    if case .failure(let error) = result { return error as? APIError }
                    return nil
                }
                #expect(winners.count == 1)
                #expect(losers.map(\.kind) == [.memoryPreconditionFailed])
                let stored = try await platform.memory.memory(storeID: store.id, id: memory.id)
                #expect(stored.content == winners.first?.content)
                let modified = try await platform.memory.listMemoryVersions(
                    storeID: store.id, MemoryVersionFilter(memoryID: memory.id, operation: .modified), page: PageRequest(), view: .basic)
                #expect(modified.items.count == 1)
            }
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func redactionBlanksVersionButNotMemory(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let first = try await platform.memory.writeMemory(storeID: store.id, path: "/secret.md", content: "password=hunter2", actor: apiActor)
            let current = try await platform.memory.writeMemory(storeID: store.id, path: "/secret.md", content: "no secrets here", actor: apiActor)
            let redacted = try await platform.memory.redactMemoryVersion(storeID: store.id, id: first.versionID, actor: .apiKey("apikey_admin"))
            #expect(redacted.redactedAt != nil)
            #expect(redacted.redactedBy == .apiKey("apikey_admin"))
            #expect(redacted.content == nil && redacted.path == nil && redacted.contentSHA256 == nil && redacted.contentSizeBytes == nil)
            #expect(redacted.createdBy == apiActor)
            let fetched = try await platform.memory.memoryVersion(storeID: store.id, id: first.versionID)
            #expect(fetched == redacted)
            // Again: unchanged.
            #expect(try await platform.memory.redactMemoryVersion(storeID: store.id, id: first.versionID, actor: .apiKey("apikey_other")) == redacted)
            // Redacting the current version leaves the memory as it is.
            _ = try await platform.memory.redactMemoryVersion(storeID: store.id, id: current.versionID, actor: apiActor)
            let memory = try await platform.memory.memory(storeID: store.id, id: current.id)
            #expect(memory.content == "no secrets here")
            #expect(memory.versionID == current.versionID)
            await #expect(throws: APIError.notFound("memory version", "memver_nope")) {
                _ = try await platform.memory.redactMemoryVersion(storeID: store.id, id: "memver_nope", actor: apiActor)
            }
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func listingByPrefixAndDepth(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let paths = ["/notes/todo.md", "/notes/2024/jan.md", "/notes/2024/feb.md", "/notes-archive/old.md", "/readme.md", "/notes/2025/q1/a.md", "/a-b"]
            for path in paths { _ = try await platform.memory.writeMemory(storeID: store.id, path: path, content: path, actor: apiActor) }

            func list(_ prefix: String = "/", depth: Int = 0, limit: Int = 100, view: MemoryView = .basic) async throws -> [String] {
                var result: [String] = []
                var query = MemoryListQuery(pathPrefix: prefix, depth: depth, view: view, limit: limit)
                while true {
                    let page = try await platform.memory.listMemories(storeID: store.id, query)
                    #expect(page.items.count <= limit)
                    result += page.items.map { item in
                        if case .prefix(let path) = item { return "P " + path }
                        return item.sortPath
                    }
                    guard let next = page.next else { return result }
                    query.after = MemoryListPosition(cursor: next)
                }
            }
            #expect(try await list() == paths.sorted { MemoryPath.precedes($0, $1) })
            #expect(try await list("/notes/") == ["/notes/2024/feb.md", "/notes/2024/jan.md", "/notes/2025/q1/a.md", "/notes/todo.md"])
            #expect(try await list(depth: 1) == ["/a-b", "P /notes-archive/", "P /notes/", "/readme.md"])
            #expect(try await list("/notes/", depth: 1) == ["P /notes/2024/", "P /notes/2025/", "/notes/todo.md"])
            #expect(try await list("/notes/", depth: 2) == ["/notes/2024/feb.md", "/notes/2024/jan.md", "P /notes/2025/q1/", "/notes/todo.md"])
            // Pagination across pages, one item a page, prefixes included.
            #expect(try await list(depth: 1, limit: 1) == ["/a-b", "P /notes-archive/", "P /notes/", "/readme.md"])
            #expect(try await list("/notes/", limit: 3) == ["/notes/2024/feb.md", "/notes/2024/jan.md", "/notes/2025/q1/a.md", "/notes/todo.md"])
            // view=full carries content and holds at most 20 a page.
            let full = try await platform.memory.listMemories(storeID: store.id, MemoryListQuery(view: .full, limit: 100))
            #expect(full.items.count == paths.count)
            for case .memory(let memory) in full.items { #expect(memory.content == memory.path) }
            for index in 0..<25 { _ = try await platform.memory.writeMemory(storeID: store.id, path: "/bulk/\(index)", content: "", actor: apiActor) }
            #expect(try await platform.memory.listMemories(storeID: store.id, MemoryListQuery(view: .full, limit: 100)).items.count == 20)
            #expect(try await platform.memory.listMemories(storeID: store.id, MemoryListQuery(view: .basic, limit: 100)).items.count == 32)
            await #expect(throws: APIError.self) { _ = try await platform.memory.listMemories(storeID: store.id, MemoryListQuery(pathPrefix: "/notes")) }
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func pinningIsVisibleAndBindsOnlyDreams(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let pinned = try await platform.memory.createMemory(
                storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": "/rules.md", "content": "never push to main", "pinned": true])), actor: apiActor)
            #expect(pinned.pinned)
            let json = try JSONCoding.value(pinned)
            #expect(json["pinned"] == true)
            let dream = MemoryActor.dream("drm_1")
            await #expect(throws: APIError.self) {
                try await platform.memory.writeMemory(storeID: store.id, path: "/rules.md", content: "push anywhere", actor: dream)
            }
            await #expect(throws: APIError.self) { try await platform.memory.deleteMemory(storeID: store.id, path: "/rules.md", actor: dream) }
            await #expect(throws: APIError.self) { try await platform.memory.setMemoryPinned(storeID: store.id, path: "/rules.md", pinned: false, actor: dream) }
            await #expect(throws: APIError.self) { try await platform.memory.moveMemory(storeID: store.id, from: "/rules.md", to: "/r.md", actor: dream) }
            #expect(try await platform.memory.readMemory(storeID: store.id, path: "/rules.md")?.content == "never push to main")
            // Dreams still write unpinned memories, attributed to the dream.
            let learned = try await platform.memory.writeMemory(storeID: store.id, path: "/lessons.md", content: "run tests first", actor: dream)
            #expect(try await platform.memory.memoryVersion(storeID: store.id, id: learned.versionID).createdBy == dream)
            // People and sessions may change pinned memories; pinning writes no version.
            let versionsBefore = try await platform.memory.listMemoryVersions(storeID: store.id, MemoryVersionFilter(), page: PageRequest(), view: .basic).items.count
            let unpinned = try await platform.memory.updateMemory(storeID: store.id, id: pinned.id, try MemoryUpdateRequest(ObjectReader(["pinned": false])), actor: apiActor)
            #expect(!unpinned.pinned)
            #expect(unpinned.versionID == pinned.versionID)
            let versionsAfter = try await platform.memory.listMemoryVersions(storeID: store.id, MemoryVersionFilter(), page: PageRequest(), view: .basic).items.count
            #expect(versionsAfter == versionsBefore)
            #expect(try await platform.memory.deleteMemory(storeID: store.id, path: "/rules.md", actor: dream))
        }, thenStop: fixture.cleanUp)
    }

    @Test(arguments: StoreBackend.allCases) func pathSurfaceForMountsAndDreams(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            #expect(try await platform.memory.readMemory(storeID: store.id, path: "/nope") == nil)
            let written = try await platform.memory.writeMemory(storeID: store.id, path: "/dir/a.md", content: "A", actor: .session("sesn_1"))
            let file = try #require(try await platform.memory.readMemory(storeID: store.id, path: "/dir/a.md"))
            #expect(file.content == "A")
            #expect(file.memoryID == written.id)
            #expect(file.versionID == written.versionID)
            // Unchanged content writes no new version.
            #expect(try await platform.memory.writeMemory(storeID: store.id, path: "/dir/a.md", content: "A", actor: .session("sesn_1")).versionID == written.versionID)
            _ = try await platform.memory.writeMemory(storeID: store.id, path: "/dir/b.md", content: "B", actor: .session("sesn_1"))
            _ = try await platform.memory.writeMemory(storeID: store.id, path: "/top.md", content: "T", actor: .session("sesn_1"))
            #expect(try await platform.memory.memoryPaths(storeID: store.id, under: "/dir/") == ["/dir/a.md", "/dir/b.md"])
            #expect(try await platform.memory.memoryPaths(storeID: store.id).count == 3)
            #expect(try await platform.memory.deleteMemory(storeID: store.id, path: "/dir/a.md", actor: .session("sesn_1")))
            #expect(try await platform.memory.deleteMemory(storeID: store.id, path: "/dir/a.md", actor: .session("sesn_1")) == false)
            await #expect(throws: APIError.self) {
                try await platform.memory.writeMemory(storeID: store.id, path: "/top.md", content: "T2", actor: apiActor, expectedSHA256: MemoryPath.sha256("other"))
            }
            await #expect(throws: APIError.notFound("memory store", "memstore_missing")) {
                _ = try await platform.memory.readMemory(storeID: "memstore_missing", path: "/a")
            }
        }, thenStop: fixture.cleanUp)
    }
}
