import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import Synchronization

/// `reverie bench memory`: create, update and read throughput of memories, and list latency,
/// for a store of many memories, over real HTTP.
struct BenchMemory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Memory create/update/read throughput and list latency (p50/p99) for a store of 10,000 memories.")

    @Option(help: "Memories in the store.")
    var memories = 10_000

    @Option(help: "Concurrent keep-alive connections for the create, update and read phases.")
    var clients = 32

    @Option(help: "Requests timed per list query.")
    var listSamples = 200

    @Option(name: .customLong("data-dir"), help: "Data directory (default: a fresh temporary one).")
    var dataDirectory: String?

    func run() async throws {
        let harness = try await BenchHarness.start(dataDirectory: dataDirectory)
        let store = try await harness.create("/v1/memory_stores", #"{"name":"bench","description":"memory benchmark"}"#)
        let base = "/v1/memory_stores/\(store)/memories"
        print("reverie bench memory: \(memories) memories in 100 folders, \(clients) keep-alive connections")
        let steal = CPUSteal()

        // Create: paths /topics/tNN/note-i.md, ~600 bytes of Markdown each.
        let created = MemoryTable(count: memories)
        let create = try await phase(harness, items: memories) { index, send in
            let path = Self.path(index)
            let body = JSONValue.object(["path": .string(path), "content": .string(Self.content(index, revision: 0))])
            let (status, reply) = try await send(.POST, base, try JSONCoding.string(body))
            guard status == 200, let json = try? JSONCoding.decode(JSONValue.self, from: Data(buffer: reply)),
                let id = json["id"]?.stringValue, let sha = json["content_sha256"]?.stringValue
            else { return false }
            created.set(index, id: id, sha: sha)
            return true
        }
        print(line("create: ", create, unit: "memories"))

        // Update every memory with a content_sha256 precondition (each one a new version).
        let update = try await phase(harness, items: memories) { index, send in
            guard let (id, sha) = created.get(index) else { return false }
            let body = JSONValue.object([
                "content": .string(Self.content(index, revision: 1)), "precondition": ["type": "content_sha256", "content_sha256": .string(sha)],
            ])
            let (status, _) = try await send(.POST, "\(base)/\(id)", try JSONCoding.string(body))
            return status == 200
        }
        print(line("update: ", update, unit: "memories"))

        // Read every memory (full view: content included).
        let read = try await phase(harness, items: memories) { index, send in
            guard let (id, _) = created.get(index) else { return false }
            let (status, reply) = try await send(.GET, "\(base)/\(id)", nil)
            return status == 200 && reply.readableBytes > 500
        }
        print(line("read:   ", read, unit: "memories"))

        // List latency, one request at a time.
        let queries: [(String, (Int) -> String)] = [
            ("first page, 100 of the whole store (basic view)", { _ in "\(base)?limit=100" }),
            ("one folder, path_prefix + limit 100", { sample in "\(base)?limit=100&path_prefix=/topics/t\(String(format: "%02d", sample % 100))/" }),
            ("top level with depth=2 (folders as memory_prefix)", { _ in "\(base)?depth=2&limit=100" }),
        ]
        try await BenchLoadConnection.with(port: harness.port, apiKey: harness.apiKey) { send in
            for (name, path) in queries {
                var latencies: [Double] = []
                for sample in 0..<listSamples {
                    let begin = ContinuousClock.now
                    let (status, _) = try await send(.GET, path(sample), nil)
                    guard status == 200 else { throw ValidationError("list \(path(sample)) failed: \(status)") }
                    latencies.append((ContinuousClock.now - begin).milliseconds)
                }
                let sorted = latencies.sorted()
                print("list, \(name): p50 \(formatted(percentile(sorted, 50), 2)) ms, p99 \(formatted(percentile(sorted, 99), 2)) ms")
            }
            // Walk the whole store page by page.
            var latencies: [Double] = []
            var seen = 0
            var page: String?
            repeat {
                let begin = ContinuousClock.now
                let (status, reply) = try await send(.GET, "\(base)?limit=100" + (page.map { "&page=\($0)" } ?? ""), nil)
                latencies.append((ContinuousClock.now - begin).milliseconds)
                guard status == 200 else { throw ValidationError("list page failed: \(status)") }
                let json = try JSONCoding.decode(JSONValue.self, from: Data(buffer: reply))
                seen += json["data"]?.arrayValue?.count ?? 0
                page = json["next_page"]?.stringValue
            } while page != nil
            let sorted = latencies.sorted()
            print("list, every page of 100 in turn: \(latencies.count) pages, \(seen) memories, p50 \(formatted(percentile(sorted, 50), 2)) ms, p99 \(formatted(percentile(sorted, 99), 2)) ms")
            return ()
        }
        print(steal.note)
        try await harness.stop()
    }

    /// Runs `operation` for items 0..<count over `clients` connections, each taking the next item.
    func phase(_ harness: BenchHarness, items count: Int, _ operation: @escaping @Sendable (Int, BenchLoadConnection.Send) async throws -> Bool)
        async throws -> BenchLoadConnection.Load
    {
        let next = ReadyCounter()
        return try await BenchLoadConnection.drive(connections: clients, port: harness.port, apiKey: harness.apiKey) { send in
            let index = next.value.add(1, ordering: .relaxed).oldValue
            guard index < count else { return nil }
            return try await operation(index, send)
        }
    }

    func line(_ name: String, _ load: BenchLoadConnection.Load, unit: String) -> String {
        "\(name) \(formatted(load.rate, 0)) \(unit)/s (\(load.latencies.count) in \(formatted(load.seconds, 2)) s; p50 \(formatted(load.p50, 2)) ms, "
            + "p99 \(formatted(load.p99, 2)) ms per request at \(clients) in flight; \(load.errors) errors)"
    }

    static func path(_ index: Int) -> String {
        "/topics/t\(String(format: "%02d", index % 100))/note-\(index).md"
    }

    static func content(_ index: Int, revision: Int) -> String {
        let line = "- Lesson \(index) (revision \(revision)): check the tool's exit status before trusting its output.\n"
        return "# Note \(index)\n\n" + String(repeating: line, count: 6)
    }
}

/// Ids and content hashes of created memories, by index.
final class MemoryTable: Sendable {
    private let entries: Mutex<[(id: String, sha: String)?]>

    init(count: Int) {
        entries = Mutex(Array(repeating: nil, count: count))
    }

    func set(_ index: Int, id: String, sha: String) {
        entries.withLock { $0[index] = (id, sha) }
    }

    func get(_ index: Int) -> (String, String)? {
        entries.withLock { $0[index] }
    }
}
