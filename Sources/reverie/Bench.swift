import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieModels
import ReverieServer
import ServiceLifecycle

/// `reverie bench`: load tests that print figures for docs/PERFORMANCE.md.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run benchmarks against an in-process server on a fresh database and print figures.",
        subcommands: [
            BenchEvents.self, BenchStreamStall.self, BenchMemory.self, BenchSteps.self, BenchSessions.self, BenchThreads.self, BenchDream.self,
            BenchWebhooks.self, BenchSandbox.self, BenchEgress.self, BenchWork.self, BenchContext.self,
        ])
}

/// Shared set-up: a server on a free port over a temporary data directory, and an HTTP client.
struct BenchHarness {
    let host: ReverieHost
    let port: Int
    let client: HTTPClient
    let group: ServiceGroup
    let task: Task<Void, any Error>
    /// The data directory when the harness made it (removed at the end), else nil.
    let temporaryDirectory: String?
    let apiKey = "bench-key"

    /// `models` routes agents' models (the runtime is off without it); `configure` adjusts
    /// the rest of the configuration.
    static func start(
        dataDirectory: String?, heartbeatSeconds: Double = 15, models: ModelCatalogConfiguration? = nil,
        configure: (inout HostConfiguration) -> Void = { _ in }
    ) async throws -> BenchHarness {
        let directory = dataDirectory ?? (NSTemporaryDirectory() + "reverie-bench-" + UUID().uuidString)
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        var configuration = HostConfiguration(
            dataDirectory: directory,
            server: ServerConfiguration(port: 0, heartbeatSeconds: heartbeatSeconds, staticAPIKeys: ["bench-key"]),
            models: models)
        // Benchmarks open many connections from loopback on purpose.
        configuration.server.connections.maxConnectionsPerAddress = 0
        configure(&configuration)
        let host = try ReverieHost(configuration: configuration, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ReverieHostService(host: host) { continuation.yield($0) })], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ValidationError("server did not start") }
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2048
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        return BenchHarness(
            host: host, port: port, client: client, group: group, task: task, temporaryDirectory: dataDirectory == nil ? directory : nil)
    }

    /// Stops the client, then the server gracefully (as SIGTERM does).
    func stop() async throws {
        try await client.shutdown()
        await group.triggerGracefulShutdown()
        await task.finish(within: .seconds(30))
        if let temporaryDirectory { try? FileManager.default.removeItem(atPath: temporaryDirectory) }
    }

    var ports: [Int] { [port] }
}

/// Servers a benchmark drives over HTTP: one in this process (`BenchHarness`), or
/// `reverie serve` processes on one database (`BenchServeProcesses`).
protocol BenchTarget: Sendable {
    /// The servers' ports; requests without a port go to the first.
    var ports: [Int] { get }
    var client: HTTPClient { get }
    var apiKey: String { get }
}

extension BenchTarget {
    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, port: Int? = nil) async throws -> (Int, ByteBuffer) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port ?? ports[0])\(path)")
        request.method = method
        request.headers.add(name: "x-api-key", value: apiKey)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        return (Int(response.status.code), try await response.body.collect(upTo: 16 * 1024 * 1024))
    }

    func create(_ path: String, _ body: String) async throws -> String {
        let (status, buffer) = try await request(.POST, path, body: body)
        let json = try JSONCoding.decode(JSONValue.self, from: Data(buffer: buffer))
        guard status == 200, let id = json["id"]?.stringValue else { throw ValidationError("create \(path) failed: \(status)") }
        return id
    }

    func makeSessions(_ count: Int) async throws -> [String] {
        let agent = try await create("/v1/agents", #"{"name":"bench","model":"bench-model"}"#)
        let environment = try await create("/v1/environments", #"{"name":"bench"}"#)
        var sessions: [String] = []
        for _ in 0..<count {
            sessions.append(try await create("/v1/sessions", #"{"agent":"\#(agent)","environment_id":"\#(environment)"}"#))
        }
        return sessions
    }
}

extension BenchHarness: BenchTarget {}

/// Percentiles of a sample, in the sample's unit.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let index = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
    return sorted[index]
}

func formatted(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// The share of CPU time the hypervisor gave to other machines ("steal", from /proc/stat)
/// over a stretch of a benchmark: figures taken while it is high understate the code.
struct CPUSteal {
    private let start: (steal: Double, total: Double)?

    init() { start = Self.read() }

    /// Steal since `init`, in percent, or nil where /proc/stat is not available.
    var percent: Double? {
        guard let start, let now = Self.read(), now.total > start.total else { return nil }
        return (now.steal - start.steal) / (now.total - start.total) * 100
    }

    /// A note for a benchmark's output, e.g. "CPU steal 3.1 %".
    var note: String { percent.map { "CPU steal \(formatted($0)) %" } ?? "CPU steal unknown" }

    private static func read() -> (steal: Double, total: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard fields.count >= 8 else { return nil }
        return (fields[7], fields.reduce(0, +))
    }
}
