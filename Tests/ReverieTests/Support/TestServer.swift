import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieExecution
import ReverieRuntime
import ReverieServer
import ReverieStore
import ServiceLifecycle

/// A real Reverie server on a free loopback port, over a fresh SQLite file.
final class TestServer: Sendable {
    static let apiKey = "test-key"
    let host: ReverieHost
    let port: Int
    let directory: String
    private let task: Task<Void, any Error>
    /// Runs the host as a service, so `stop()` can shut it down gracefully.
    private let group: ServiceGroup

    var platform: Platform { host.platform }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(host: ReverieHost, port: Int, directory: String, task: Task<Void, any Error>, group: ServiceGroup) {
        self.host = host
        self.port = port
        self.directory = directory
        self.task = task
        self.group = group
    }

    /// Starts a server; `configure` adjusts the configuration first.
    static func start(
        directory: String? = nil, egressCredentials: (any SessionEgressCredentialSource)? = nil, configure: (inout HostConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let directory = directory ?? TemporaryDirectory.make()
        var configuration = HostConfiguration(
            dataDirectory: directory, server: ServerConfiguration(host: "127.0.0.1", port: 0, heartbeatSeconds: 15, staticAPIKeys: [apiKey]))
        configuration.isolation = IsolationSettings(toolServer: TestBinaries.reverie)
        configure(&configuration)
        var logger = Logger(label: "reverie.test")
        logger.logLevel = .warning
        let host = try ReverieHost(configuration: configuration, egressCredentials: egressCredentials, logger: logger)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ReverieHostService(host: host) { port in continuation.yield(port) })], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("server did not start") }
        return TestServer(host: host, port: port, directory: directory, task: task, group: group)
    }

    /// Stops the server gracefully (as SIGTERM does) and waits for it. Cancelling instead can
    /// trap in NIO when a connection was accepted but not yet served (swift-nio#2813).
    func stop() async {
        await group.triggerGracefulShutdown()
        await task.finish(within: .seconds(15))
    }

    // MARK: HTTP

    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        var json: JSONValue { (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null }
        var errorType: String? { json["error"]?["type"]?.stringValue }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func request(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, rawBody: Data? = nil, headers: [(String, String)]? = nil)
        async throws -> Reply
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers ?? [("x-api-key", Self.apiKey)] { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONCoding.data(json)))
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(data: rawBody))
        }
        let response = try await TestHTTP.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    func post(_ path: String, _ json: JSONValue) async throws -> Reply { try await request(.POST, path, json: json) }
    func get(_ path: String) async throws -> Reply { try await request(.GET, path) }
    func delete(_ path: String) async throws -> Reply { try await request(.DELETE, path) }

    /// Creates an agent and an environment, returning their ids.
    func makeAgentAndEnvironment(tools: JSONValue = []) async throws -> (agent: String, environment: String) {
        let agent = try await post("/v1/agents", ["name": "tester", "model": "mock-model", "tools": tools])
        let environment = try await post("/v1/environments", ["name": "env"])
        guard let agentID = agent.json["id"]?.stringValue, let environmentID = environment.json["id"]?.stringValue else {
            throw TestFailure("setup failed: \(String(decoding: agent.body, as: UTF8.self))")
        }
        return (agentID, environmentID)
    }

    func makeSession(initialText: String? = nil) async throws -> String {
        let (agent, environment) = try await makeAgentAndEnvironment()
        var body: [String: JSONValue] = ["agent": .string(agent), "environment_id": .string(environment)]
        if let initialText {
            body["initial_events"] = [["type": "user.message", "content": [["type": "text", "text": .string(initialText)]]]]
        }
        let reply = try await post("/v1/sessions", .object(body))
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("session create failed: \(reply.status)") }
        return id
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum TemporaryDirectory {
    static func make() -> String {
        let path = NSTemporaryDirectory() + "reverie-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Reads Server-Sent Events from a live response.
final class SSEReader: @unchecked Sendable {
    struct Frame: Sendable, Equatable {
        var event: String
        var id: String?
        var data: String
    }

    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var buffer = ""
    let status: Int

    private init(response: HTTPClientResponse) {
        self.status = Int(response.status.code)
        self.iterator = response.body.makeAsyncIterator()
    }

    static func open(_ server: TestServer, sessionID: String, lastEventID: String? = nil, query: String = "") async throws -> SSEReader {
        var request = HTTPClientRequest(url: server.baseURL + "/v1/sessions/\(sessionID)/events/stream" + query)
        request.headers.add(name: "x-api-key", value: TestServer.apiKey)
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response = try await TestHTTP.client.execute(request, timeout: .seconds(60))
        return SSEReader(response: response)
    }

    /// The next frame, skipping pings unless asked for.
    func next(includePings: Bool = false) async throws -> Frame? {
        while true {
            if let range = buffer.range(of: "\n\n") {
                let block = String(buffer[..<range.lowerBound])
                buffer.removeSubrange(..<range.upperBound)
                var frame = Frame(event: "message", id: nil, data: "")
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix("event: ") { frame.event = String(line.dropFirst(7)) }
                    if line.hasPrefix("id: ") { frame.id = String(line.dropFirst(4)) }
                    if line.hasPrefix("data: ") { frame.data = String(line.dropFirst(6)) }
                }
                if frame.event == "ping" && !includePings { continue }
                return frame
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
    }
}

enum TestHTTP {
    /// One client for every test, with room for many simultaneous streams.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}

/// Binaries the build made beside the tests.
enum TestBinaries {
    /// The `reverie` executable (its `sandbox-tools` serves tools inside isolated sandboxes).
    static let reverie = (IsolationSettings.currentExecutable() as NSString).deletingLastPathComponent + "/reverie"
}
