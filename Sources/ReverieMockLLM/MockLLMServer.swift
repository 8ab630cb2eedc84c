import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ReverieCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Where the mock server listens and how much it keeps.
public struct MockLLMConfiguration: Sendable, Equatable {
    public var host: String
    /// 0 picks a free port (see `MockLLMServer.start()`).
    public var port: Int
    /// Requests kept for `requests()` / `GET /_mock/requests` (the most recent).
    public var recordLimit: Int
    public var maxBodyBytes: Int
    /// Pending-connection queue length (many simultaneous clients need a long one).
    public var backlog: Int

    public init(host: String = "127.0.0.1", port: Int = 0, recordLimit: Int = 10_000, maxBodyBytes: Int = 64 << 20, backlog: Int = 4096) {
        self.host = host
        self.port = port
        self.recordLimit = recordLimit
        self.maxBodyBytes = maxBodyBytes
        self.backlog = backlog
    }
}

/// A model server for tests and benchmarks that speaks the Anthropic Messages API
/// (`POST /v1/messages`, streamed and not) and OpenAI chat completions
/// (`POST /v1/chat/completions`) over real HTTP, answering from a `MockScenario`.
///
/// It records every request (`requests()`, `GET /_mock/requests`, cleared by
/// `clearRequests()` / `DELETE /_mock/requests`) and takes a new scenario at runtime
/// (`setScenario(_:)`, `PUT /_mock/scenario`). Start it in-process with `start()` (returns
/// the bound port) and end it with `stop()`, or run it until a signal with `run()`.
public final class MockLLMServer: Sendable {
    public let configuration: MockLLMConfiguration
    let state: MockLLMState
    let logger: Logger
    private let running = Mutex<(task: Task<Void, any Error>?, port: Int?, group: ServiceGroup?)>((nil, nil, nil))

    public init(scenario: MockScenario = MockScenario(), configuration: MockLLMConfiguration = MockLLMConfiguration(), logger: Logger? = nil) {
        self.configuration = configuration
        self.state = MockLLMState(scenario: scenario, recordLimit: configuration.recordLimit)
        self.logger = logger ?? {
            var logger = Logger(label: "reverie.mock-llm")
            logger.logLevel = .warning
            return logger
        }()
    }

    /// The bound port while running.
    public var port: Int? { running.withLock { $0.port } }

    /// `http://<host>:<port>` while running: the Anthropic base URL. The OpenAI base URL is this plus `/v1`.
    public var baseURL: String? { port.map { "http://\(configuration.host):\($0)" } }

    /// Starts serving in the background and returns the bound port once connections are accepted.
    @discardableResult
    public func start() async throws -> Int {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = application { port in
            continuation.yield(port)
            continuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: application)], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        for await port in ports {
            running.withLock { $0 = (task, port, group) }
            return port
        }
        try await task.value
        throw MockScenarioError("the mock model server stopped before it listened")
    }

    /// Stops a server started with `start()`: it stops accepting connections, and requests still
    /// waiting out their scenario latency end at once.
    ///
    /// The stop is a graceful shutdown, not a cancellation: cancelling a NIO server while a
    /// connection it accepted is still queued traps (swift-nio#2813).
    public func stop() async {
        let (task, group) = running.withLock { state in
            defer { state = (nil, nil, nil) }
            return (state.task, state.group)
        }
        guard let task else { return }
        await group?.triggerGracefulShutdown()
        await task.finish(within: .seconds(10))
    }

    /// Serves until one of `signals` arrives (or the task is cancelled). `onListening` receives the bound port.
    ///
    /// A signal shuts the server down gracefully and promptly: requests still waiting out their
    /// scenario latency end at once instead of being awaited.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = application { [self] port in
            running.withLock { $0.port = port }
            await onListening(port)
        }
        try await application.runService(gracefulShutdownSignals: signals)
    }

    /// The recorded requests, oldest first.
    public func requests() async -> [RecordedRequest] { await state.requests() }

    /// Forgets the recorded requests.
    public func clearRequests() async { await state.clearRequests() }

    /// Replaces the scenario and resets every rule's match count.
    public func setScenario(_ scenario: MockScenario) async { await state.replace(scenario) }

    /// Opens the gate `name` for good: steps with `hold: name` answer (those waiting and later ones).
    public func openGate(_ name: String) async { await state.open(name) }

    /// How many requests are held at the gate `name` right now.
    public func held(at name: String) async -> Int { await state.held(at: name) }

    /// The scenario in use.
    public var scenario: MockScenario { get async { await state.scenario } }

    private func application(onListening: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let port = configuration.port
        return Application(
            router: router(),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "reverie-mock-llm", backlog: configuration.backlog),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let handler = MockModelHandler(state: state, maxBodyBytes: configuration.maxBodyBytes)
        router.post("v1/messages") { request, _ in try await handler.respond(api: .anthropic, request: request) }
        router.post("v1/chat/completions") { request, _ in try await handler.respond(api: .openai, request: request) }
        router.get("_mock/health") { _, _ in MockResponse.json(["status": "ok"]) }
        router.get("_mock/requests") { [state] _, _ in
            let requests = await state.requests()
            return MockResponse.json(["data": .array(requests.map(\.json))])
        }
        router.delete("_mock/requests") { [state] _, _ in
            await state.clearRequests()
            return Response(status: .noContent)
        }
        router.post("_mock/gates/:name") { [state] _, context in
            let name = try context.parameters.require("name")
            await state.open(name)
            return MockResponse.json(["ok": true])
        }
        router.get("_mock/gates/:name") { [state] _, context in
            let name = try context.parameters.require("name")
            return MockResponse.json(["held": .int(Int64(await state.held(at: name)))])
        }
        router.put("_mock/scenario") { [state, configuration] request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: configuration.maxBodyBytes)
            do {
                let scenario = try MockScenario(json: Data(buffer.readableBytesView))
                await state.replace(scenario)
                return MockResponse.json(["ok": true, "rules": .int(Int64(scenario.rules.count))])
            } catch let error as MockScenarioError {
                return MockResponse.json(["error": ["type": "invalid_scenario", "message": .string(error.message)]], status: .badRequest)
            }
        }
        return router
    }
}

/// Builds plain responses.
enum MockResponse {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let text = (try? JSONCoding.string(value)) ?? "{}"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
