import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieServer
import Testing

/// The memory routes over real HTTP: a `ReverieHost` on a free loopback port.
@Suite(.timeLimit(.minutes(3))) struct MemoryHTTPTests {
    struct Reply {
        var status: Int
        var json: JSONValue
    }

    /// A `TestServer` (stopped gracefully: cancelling the server task can trap in NIO) that
    /// answers in `Reply`s.
    struct Server {
        let server: TestServer

        init() async throws { server = try await TestServer.start() }

        func request(_ method: HTTPMethod, _ path: String, _ body: JSONValue? = nil) async throws -> Reply {
            let reply = try await server.request(method, path, json: body)
            return Reply(status: reply.status, json: try JSONCoding.decode(JSONValue.self, from: reply.body))
        }

        func stop() async {
            await server.stop()
            try? FileManager.default.removeItem(atPath: server.directory)
        }
    }

    @Test func endpointsSpeakTheWireFormat() async throws {
        let server = try await Server()
        try await run({
            let store = try await server.request(.POST, "/v1/memory_stores?beta=true", ["name": "HTTP Store"])
            #expect(store.status == 200)
            #expect(store.json["type"] == "memory_store")
            #expect(store.json["description"] == "")
            let storeID = try #require(store.json["id"]?.stringValue)

            let created = try await server.request(.POST, "/v1/memory_stores/\(storeID)/memories", ["path": "/dir/a.md", "content": "hello"])
            #expect(created.status == 200)
            #expect(created.json["content"] == .null)
            #expect(created.json["pinned"] == false)
            #expect(created.json["content_sha256"] == .string(MemoryPath.sha256("hello")))
            let memoryID = try #require(created.json["id"]?.stringValue)

            let full = try await server.request(.GET, "/v1/memory_stores/\(storeID)/memories/\(memoryID)")
            #expect(full.json["content"] == "hello")

            let conflict = try await server.request(
                .POST, "/v1/memory_stores/\(storeID)/memories/\(memoryID)",
                ["content": "x", "precondition": ["type": "content_sha256", "content_sha256": .string(MemoryPath.sha256("nope"))]])
            #expect(conflict.status == 409)
            #expect(conflict.json["error"]?["type"] == "memory_precondition_failed_error")

            let duplicate = try await server.request(.POST, "/v1/memory_stores/\(storeID)/memories", ["path": "/dir/a.md", "content": ""])
            #expect(duplicate.status == 409)
            #expect(duplicate.json["error"]?["type"] == "memory_path_conflict_error")

            let badPath = try await server.request(.POST, "/v1/memory_stores/\(storeID)/memories", ["path": "/a/../b", "content": ""])
            #expect(badPath.status == 400)
            #expect(badPath.json["error"]?["message"] == "path: must not contain '.' or '..' segments")

            let listed = try await server.request(.GET, "/v1/memory_stores/\(storeID)/memories?depth=1&limit=5")
            #expect(listed.json["data"] == [["type": "memory_prefix", "path": "/dir/"]])
            #expect(listed.json["next_page"] == .null)

            let versions = try await server.request(.GET, "/v1/memory_stores/\(storeID)/memory_versions?memory_id=\(memoryID)")
            let version = try #require(versions.json["data"]?.arrayValue?.first)
            #expect(version["created_by"] == ["type": "api_actor", "api_key_id": "apikey_static"])
            #expect(version["content"] == .null)
            let versionID = try #require(version["id"]?.stringValue)
            let redacted = try await server.request(.POST, "/v1/memory_stores/\(storeID)/memory_versions/\(versionID)/redact")
            #expect(redacted.json["redacted_by"] == ["type": "api_actor", "api_key_id": "apikey_static"])
            #expect(redacted.json["path"] == .null)

            let usage = try await server.request(.GET, "/v1/memory_stores/\(storeID)/memories/\(memoryID)/usage")
            #expect(usage.json == ["data": [], "next_page": nil])

            let deleted = try await server.request(.DELETE, "/v1/memory_stores/\(storeID)/memories/\(memoryID)")
            #expect(deleted.json == ["id": .string(memoryID), "type": "memory_deleted"])
            let gone = try await server.request(.DELETE, "/v1/memory_stores/\(storeID)")
            #expect(gone.json == ["id": .string(storeID), "type": "memory_store_deleted"])
            let missing = try await server.request(.GET, "/v1/memory_stores/\(storeID)")
            #expect(missing.status == 404)
        }, thenStop: server.stop)
    }
}
