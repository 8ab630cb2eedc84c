import Foundation
import ReverieCore
import ReverieExecution
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieServer
import ReverieStore

/// A real server whose agents' models are an in-process mock model server, with helpers
/// to build a coordinator and its specialists and to watch a session's threads.
final class ThreadFixture: Sendable {
    let mock: MockLLMServer
    let server: TestServer

    private init(mock: MockLLMServer, server: TestServer) {
        self.mock = mock
        self.server = server
    }

    /// A server over `directory` (a fresh one when nil) whose models are `mock`.
    static func server(mock: MockLLMServer, directory: String? = nil, retry: RetryPolicy = .none) async throws -> TestServer {
        let url = mock.baseURL ?? ""
        return try await TestServer.start(directory: directory) { configuration in
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: url, apiKey: "test", timeout: .seconds(30), retry: retry)],
                routes: [ModelRoute(match: "*", provider: "mock")])
        }
    }

    /// The same mock with a server restarted over this fixture's data directory.
    func restarted() async throws -> ThreadFixture {
        await server.stop()
        return ThreadFixture(mock: mock, server: try await Self.server(mock: mock, directory: server.directory))
    }

    static func with(_ scenario: MockScenario, retry: RetryPolicy = .none, _ body: (ThreadFixture) async throws -> Void) async throws {
        let mock = MockLLMServer(scenario: scenario)
        try await mock.start()
        let server: TestServer
        do {
            server = try await Self.server(mock: mock, retry: retry)
        } catch {
            await mock.stop()
            throw error
        }
        let fixture = ThreadFixture(mock: mock, server: server)
        try await run({ try await body(fixture) }, thenStop: fixture.stop)
    }

    func stop() async {
        await server.stop()
        await mock.stop()
    }

    /// Creates an agent; returns its id.
    func agent(_ name: String, system: String, tools: JSONValue = [["type": "agent_toolset_20260401"]], roster: [String]? = nil) async throws -> String {
        var body: [String: JSONValue] = ["name": .string(name), "model": "mock-model", "system": .string(system), "tools": tools]
        if let roster { body["multiagent"] = ["type": "coordinator", "agents": .array(roster.map(JSONValue.string))] }
        let reply = try await server.post("/v1/agents", .object(body))
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("agent create failed: \(String(decoding: reply.body, as: UTF8.self))") }
        return id
    }

    /// Starts a session of `agent` with a first user message; returns its id.
    func session(agent: String, message: String) async throws -> String {
        let environment = try await server.post("/v1/environments", ["name": .string("env-\(UUID().uuidString.prefix(8))")])
        let reply = try await server.post("/v1/sessions", [
            "agent": .string(agent), "environment_id": environment.json["id"] ?? .null,
            "initial_events": [["type": "user.message", "content": [["type": "text", "text": .string(message)]]]],
        ])
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("session create failed: \(String(decoding: reply.body, as: UTF8.self))") }
        return id
    }

    /// Every event of the session's log, oldest first.
    func events(_ sessionID: String) async throws -> [SessionEvent] {
        try await server.host.store.events(sessionID: sessionID, after: 0, limit: Int.max).map { try $0.event() }
    }

    /// Waits until the primary thread has gone idle `count` times.
    func waitForIdle(_ sessionID: String, count: Int = 1, timeout: Duration = .seconds(60)) async throws -> [SessionEvent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = try await events(sessionID)
            if events.filter({ $0.type == .sessionStatusIdle && $0.threadID == nil }).count >= count { return events }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("session \(sessionID) did not go idle: \(try await events(sessionID).map(\.type.rawValue))")
    }

    /// Waits until `predicate` holds for the session's events.
    func waitFor(_ sessionID: String, timeout: Duration = .seconds(30), _ predicate: ([SessionEvent]) -> Bool) async throws -> [SessionEvent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let events = try await events(sessionID)
            if predicate(events) { return events }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("condition not reached in session \(sessionID)")
    }

    /// The folder a session's `/workspace` maps to.
    func workspace(_ sessionID: String) -> URL {
        Sandbox.sessionFolder(dataDirectory: server.directory, sessionID: sessionID).appendingPathComponent("workspace")
    }

    /// The most child threads running at once, replayed from the log's status events.
    static func peakConcurrency(_ events: [SessionEvent]) -> Int {
        var running: Set<String> = []
        var peak = 0
        for event in events {
            guard let thread = event.threadID else { continue }
            if event.type == .sessionThreadStatusRunning { running.insert(thread) }
            if event.type == .sessionThreadStatusIdle || event.type == .sessionThreadStatusTerminated { running.remove(thread) }
            peak = max(peak, running.count)
        }
        return peak
    }
}

/// A mock reply block calling a tool.
func toolUse(_ name: String, _ input: JSONValue) -> JSONValue {
    ["type": "tool_use", "name": .string(name), "input": input]
}

/// A scenario from rules given as JSON values.
func threadScenario(_ rules: [JSONValue], fallback: String = "fallback reply") throws -> MockScenario {
    let json: JSONValue = ["fallback": ["reply": .string(fallback)], "rules": .array(rules)]
    return try MockScenario(json: JSONCoding.data(json))
}
