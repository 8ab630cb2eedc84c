import Foundation
import NIOHTTP1
import ReverieCore
import ReverieRuntime

/// A served session's memory stores through the server's memory API, with the work item's
/// sessions token: the server records every change as made by the session, lets a read-only
/// store be read only, and refuses the token once the item has ended or moved to another worker.
struct RemoteMemorySync: MemorySyncSource {
    let client: WorkQueueClient
    let credential: String

    func memoryFiles(storeID: String) async throws -> [MemoryFile] {
        var files: [MemoryFile] = []
        var page: String?
        repeat {
            var path = "/v1/memory_stores/\(Self.escaped(storeID))/memories?view=full&limit=100"
            if let page { path += "&page=\(Self.escaped(page))" }
            let reply = try await call(.GET, path)
            for item in reply["data"]?.arrayValue ?? [] where item["type"]?.stringValue == "memory" {
                files.append(try Self.file(item))
            }
            page = reply["next_page"]?.stringValue
        } while page != nil
        return files
    }

    func updateMemory(storeID: String, memoryID: String, path: String, content: String, expectedSHA256: String) async throws -> MemoryFile {
        try Self.file(try await call(.POST, "/v1/memory_stores/\(Self.escaped(storeID))/memories/\(Self.escaped(memoryID))?view=full", json: [
            "content": .string(content), "precondition": ["type": "content_sha256", "content_sha256": .string(expectedSHA256)],
        ]))
    }

    func createMemory(storeID: String, path: String, content: String) async throws -> MemoryFile {
        try Self.file(try await call(.POST, "/v1/memory_stores/\(Self.escaped(storeID))/memories?view=full", json: [
            "path": .string(path), "content": .string(content),
        ]))
    }

    func deleteMemory(storeID: String, memoryID: String, path: String, expectedSHA256: String) async throws {
        do {
            _ = try await call(
                .DELETE, "/v1/memory_stores/\(Self.escaped(storeID))/memories/\(Self.escaped(memoryID))?expected_content_sha256=\(expectedSHA256)")
        } catch let error as APIError where error.kind == .notFound {
            // Deleted by someone else in between: what the agent wanted.
        }
    }

    /// Reads are recorded by the server only for tools it runs itself; the API has no call for them.
    func recordReads(_ reads: [MemoryRead]) async {}

    /// A call whose failure reads as the API's error, so the agent's note says what the server said.
    private func call(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil) async throws -> JSONValue {
        do {
            return try await client.send(method, path, json: json, credential: credential)
        } catch let failure as WorkQueueClient.Failure {
            throw APIError(APIError.Kind(rawValue: failure.type) ?? .api, failure.message.isEmpty ? "HTTP \(failure.status)" : failure.message)
        }
    }

    private static func file(_ value: JSONValue) throws -> MemoryFile {
        MemoryFile(try JSONCoding.decode(ReverieCore.Memory.self, from: try JSONCoding.data(value)))
    }

    private static func escaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? component
    }
}
