import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore

/// A platform over a fresh database: SQLite in a temporary folder, or a fresh PostgreSQL schema.
struct MemoryFixture {
    let platform: Platform
    let store: any Store
    let directory: URL

    init(_ backend: StoreBackend = .sqlite) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-memory-\(UUID().uuidString)", isDirectory: true)
        switch backend {
        case .sqlite: store = try SQLiteStore(path: directory.appendingPathComponent("reverie.sqlite").path)
        case .postgres: store = try await backend.open().store
        }
        platform = Platform.withoutRuntime(store: store, dataDirectory: directory.path)
    }

    /// A new store named `name`.
    func makeStore(_ name: String = "Notes") async throws -> MemoryStore {
        try await platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["name": .string(name)]), creating: true))
    }

    /// A session with `stores` mounted (an agent and environment are made for it).
    func makeSession(mounting stores: [String] = []) async throws -> Session {
        let agent = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "a", "model": "mock-model"])))
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "e"]), creating: true))
        let resources = JSONValue.array(stores.map { ["type": "memory_store", "memory_store_id": .string($0)] })
        return try await platform.sessions.createSession(
            try SessionCreateRequest(ObjectReader(["agent": .string(agent.id), "environment_id": .string(environment.id), "resources": resources])))
    }

    func cleanUp() async {
        try? await store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

let apiActor = MemoryActor.apiKey("apikey_test")
