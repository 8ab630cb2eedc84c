import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryMountTests {
    @Test func sessionsSnapshotStoreAndDeriveMountPath() async throws {
        let fixture = try await MemoryFixture()
        try await run({
            let store = try await fixture.platform.memory.createMemoryStore(
                MemoryStoreRequest(try ObjectReader(["name": "User Preferences", "description": "likes and dislikes"]), creating: true))
            let session = try await fixture.makeSession(mounting: [store.id])
            let mount = try #require(session.memoryMounts.first)
            #expect(mount.name == "User Preferences")
            #expect(mount.description == "likes and dislikes")
            #expect(mount.mountPath == "/mnt/memory/user-preferences")
            let listed = try await fixture.platform.sessions.listSessions(SessionFilter(memoryStoreID: store.id), page: PageRequest())
            #expect(listed.items.map(\.id) == [session.id])
        }, thenStop: fixture.cleanUp)
    }

    @Test func missingOrArchivedStoresAreRefused() async throws {
        let fixture = try await MemoryFixture()
        try await run({
            let live = try await fixture.makeStore("live")
            await #expect(throws: APIError.invalidRequest("resources[1].memory_store_id: memory store 'memstore_missing' not found")) {
                _ = try await fixture.makeSession(mounting: [live.id, "memstore_missing"])
            }
            let archived = try await fixture.makeStore("old")
            _ = try await fixture.platform.memory.archiveMemoryStore(id: archived.id)
            do {
                _ = try await fixture.makeSession(mounting: [archived.id])
                Issue.record("mounted an archived store")
            } catch let error as APIError {
                #expect(error.kind == .invalidRequest)
                #expect(error.message.hasPrefix("resources[0].memory_store_id: "))
                #expect(error.message.contains("archived"))
            }
        }, thenStop: fixture.cleanUp)
    }

    @Test func slugsAreMadeUniqueWithinASession() {
        let mounts = ["/mnt/memory/notes", "/mnt/memory/notes", "/mnt/memory/other", "/mnt/memory/notes-2", "/mnt/memory/notes"].enumerated().map {
            SessionResource.memoryStore(MemoryStoreMount(memoryStoreID: "memstore_\($0.offset)", access: .readWrite, instructions: nil, mountPath: $0.element))
        }
        let paths = MemoryService.uniqueMountPaths(mounts).map { resource -> String? in
            if case .memoryStore(let mount) = resource { return mount.mountPath }
            return nil
        }
        #expect(paths == ["/mnt/memory/notes", "/mnt/memory/notes-2", "/mnt/memory/other", "/mnt/memory/notes-2-2", "/mnt/memory/notes-3"])
        #expect(Set(paths).count == paths.count)
    }
}
