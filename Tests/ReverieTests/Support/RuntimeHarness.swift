import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieServer
import Testing

/// A Reverie server that runs agents, its models served by an in-process mock model server,
/// both on free loopback ports and spoken to over real HTTP.
struct RuntimeHarness {
    let mock: MockLLMServer
    private(set) var server: TestServer
    let kind: ProviderKind
    let retry: RetryPolicy
    let streaming: Bool?
    /// Further server settings, applied at every (re)start.
    let configure: @Sendable (inout HostConfiguration) -> Void
    /// Where sessions' `environment_variable` credentials come from (the server's own when nil).
    var egressCredentials: (any SessionEgressCredentialSource)? = nil

    /// Retries that take milliseconds, so failure tests stay fast.
    static let fastRetry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20), maxRetryAfter: .milliseconds(50))

    /// Starts a mock with `scenario` and a server whose every model routes to it.
    static func start(
        _ scenario: MockScenario, kind: ProviderKind = .anthropic, retry: RetryPolicy = fastRetry, streaming: Bool? = nil,
        timeout: Duration = .seconds(20), egressCredentials: (any SessionEgressCredentialSource)? = nil,
        configure: @escaping @Sendable (inout HostConfiguration) -> Void = { _ in }
    ) async throws -> RuntimeHarness {
        let mock = MockLLMServer(scenario: scenario)
        try await mock.start()
        do {
            let server = try await startServer(
                mock: mock, kind: kind, retry: retry, streaming: streaming, timeout: timeout, directory: nil, egressCredentials: egressCredentials,
                configure: configure)
            return RuntimeHarness(
                mock: mock, server: server, kind: kind, retry: retry, streaming: streaming, configure: configure, egressCredentials: egressCredentials)
        } catch {
            await mock.stop()
            throw error
        }
    }

    /// The model catalog of a server whose models all go to `mockURL`.
    static func models(mockURL: String, kind: ProviderKind, retry: RetryPolicy, streaming: Bool? = nil, timeout: Duration = .seconds(20))
        -> ModelCatalogConfiguration
    {
        let baseURL = kind == .anthropic ? mockURL : mockURL + "/v1"
        return ModelCatalogConfiguration(
            providers: ["mock": ProviderSettings(kind: kind, baseURL: baseURL, apiKey: "test", timeout: timeout, streaming: streaming, retry: retry)],
            routes: [ModelRoute(match: "*", provider: "mock")])
    }

    private static func startServer(
        mock: MockLLMServer, kind: ProviderKind, retry: RetryPolicy, streaming: Bool?, timeout: Duration, directory: String?,
        egressCredentials: (any SessionEgressCredentialSource)? = nil, configure: @Sendable (inout HostConfiguration) -> Void
    ) async throws -> TestServer {
        let url = mock.baseURL ?? ""
        return try await TestServer.start(directory: directory, egressCredentials: egressCredentials) { configuration in
            configuration.models = models(mockURL: url, kind: kind, retry: retry, streaming: streaming, timeout: timeout)
            configuration.tools.bash.defaultTimeout = .seconds(30)
            configure(&configuration)
        }
    }

    /// Stops the server gracefully (running loops stop; their sessions stay `running`) and
    /// starts a new one on the same data directory, which resumes them.
    mutating func restartServer() async throws {
        await server.stop()
        server = try await Self.startServer(
            mock: mock, kind: kind, retry: retry, streaming: streaming, timeout: .seconds(20), directory: server.directory,
            egressCredentials: egressCredentials, configure: configure)
    }

    func stop() async {
        await server.stop()
        await mock.stop()
        try? FileManager.default.removeItem(atPath: server.directory)
    }

    /// Runs `body` with a started harness and always stops it.
    static func with<T>(
        _ scenario: MockScenario, kind: ProviderKind = .anthropic, retry: RetryPolicy = fastRetry, streaming: Bool? = nil,
        _ body: (inout RuntimeHarness) async throws -> T
    ) async throws -> T {
        var harness = try await start(scenario, kind: kind, retry: retry, streaming: streaming)
        // Stops the harness as `body` left it (a restart replaces its server).
        do {
            let result = try await body(&harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    /// The model requests the mock received that the agent (not the grader) made.
    func agentRequests() async -> [RecordedRequest] {
        await mock.requests().filter { !($0.systemText.contains(graderMarker)) }
    }

    /// The model requests the outcome grader made.
    func graderRequests() async -> [RecordedRequest] {
        await mock.requests().filter { $0.systemText.contains(graderMarker) }
    }
}

/// How the grader's system prompt starts.
let graderMarker = "You are a strict, fair grader"

/// The toolset with every built-in tool enabled and always allowed.
let fullToolset: JSONValue = [["type": "agent_toolset_20260401"]]

extension TestServer {
    /// Creates an agent on `model` (default `mock-model`) and returns its id.
    func makeAgent(tools: JSONValue = fullToolset, system: String? = nil, model: String = "mock-model") async throws -> String {
        var body: [String: JSONValue] = ["name": "runtime-agent", "model": .string(model), "tools": tools]
        if let system { body["system"] = .string(system) }
        let reply = try await post("/v1/agents", .object(body))
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("agent create failed: \(String(decoding: reply.body, as: UTF8.self))") }
        return id
    }

    /// Creates a session of `agent` (a new agent with every built-in tool when nil).
    func makeRuntimeSession(agent: String? = nil, resources: JSONValue = []) async throws -> String {
        let agentID: String
        if let agent { agentID = agent } else { agentID = try await makeAgent() }
        let environment = try await post("/v1/environments", ["name": "runtime-env"])
        guard let environmentID = environment.json["id"]?.stringValue else { throw TestFailure("environment create failed") }
        let reply = try await post(
            "/v1/sessions", ["agent": .string(agentID), "environment_id": .string(environmentID), "resources": resources])
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("session create failed: \(String(decoding: reply.body, as: UTF8.self))") }
        return id
    }

    /// Sends events; fails the test unless the server accepts them.
    @discardableResult
    func send(_ sessionID: String, _ events: [JSONValue]) async throws -> [JSONValue] {
        let reply = try await post("/v1/sessions/\(sessionID)/events", ["events": .array(events)])
        guard reply.status == 200 else { throw TestFailure("send failed (\(reply.status)): \(String(decoding: reply.body, as: UTF8.self))") }
        return reply.json["data"]?.arrayValue ?? []
    }

    /// Sends a `user.message`.
    @discardableResult
    func say(_ sessionID: String, _ text: String) async throws -> [JSONValue] {
        try await send(sessionID, [userMessage(text)])
    }

    /// Every event of the session, oldest first (through the list endpoint).
    func events(_ sessionID: String) async throws -> [JSONValue] {
        var all: [JSONValue] = []
        var page: String?
        repeat {
            var path = "/v1/sessions/\(sessionID)/events?limit=1000"
            if let page { path += "&page=" + (page.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? page) }
            let reply = try await get(path)
            guard reply.status == 200 else { throw TestFailure("events list failed (\(reply.status))") }
            all += reply.json["data"]?.arrayValue ?? []
            page = reply.json["next_page"]?.stringValue
        } while page != nil
        return all
    }

    /// The session resource.
    func session(_ sessionID: String) async throws -> JSONValue {
        try await get("/v1/sessions/\(sessionID)").json
    }

    /// Waits until the log satisfies `condition`, woken by the server's live event hub (no
    /// polling), then returns the log as the list endpoint serves it. Fails after `timeout`.
    @discardableResult
    func waitForEvents(
        _ sessionID: String, timeout: Duration = .seconds(15), _ what: String = "condition", until condition: @escaping @Sendable ([JSONValue]) -> Bool
    ) async throws -> [JSONValue] {
        let live = platform.log.hub.subscribe(sessionID: sessionID)
        let store = host.store
        let met = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                // Subscribed first, so nothing falls between the backlog and the live events.
                var events: [JSONValue] = []
                var last: Int64 = 0
                for stored in try await store.events(sessionID: sessionID, after: 0, limit: Int.max) {
                    events.append(try JSONCoding.decode(JSONValue.self, from: stored.json))
                    last = stored.sequence
                }
                if condition(events) { return true }
                for await item in live {
                    guard case .event(let stored) = item, stored.sequence > last else { continue }
                    events.append(try JSONCoding.decode(JSONValue.self, from: stored.json))
                    last = stored.sequence
                    if condition(events) { return true }
                }
                return false
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        let events = try await events(sessionID)
        if !met { throw TestFailure("timed out waiting for \(what) in \(sessionID); log: \(events.map(\.eventType).joined(separator: ", "))") }
        return events
    }

    /// Waits until the session has gone idle `count` times in all and is idle now; returns the log.
    @discardableResult
    func waitForIdle(_ sessionID: String, count: Int = 1, timeout: Duration = .seconds(15)) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let events = try await waitForEvents(sessionID, timeout: max(.zero, deadline - ContinuousClock.now), "\(count) idle event(s)") {
                $0.count(ofType: "session.status_idle") >= count
            }
            if try await session(sessionID)["status"] == "idle" { return events }
            if ContinuousClock.now >= deadline { throw TestFailure("session \(sessionID) did not settle idle") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The folder of a session's files.
    func sessionFolder(_ sessionID: String) -> URL {
        URL(fileURLWithPath: directory).appendingPathComponent("sessions").appendingPathComponent(sessionID)
    }
}

func userMessage(_ text: String) -> JSONValue {
    ["type": "user.message", "content": [["type": "text", "text": .string(text)]]]
}

extension JSONValue {
    /// This value without any `cache_control` member (prompt-cache breakpoints move from step
    /// to step; the content they mark does not).
    var withoutCacheControl: JSONValue {
        switch self {
        case .object(let members): .object(members.filter { $0.key != "cache_control" }.mapValues(\.withoutCacheControl))
        case .array(let items): .array(items.map(\.withoutCacheControl))
        default: self
        }
    }

    /// An event's `type`.
    var eventType: String { self["type"]?.stringValue ?? "?" }

    /// The text of an event's (or message's) text content blocks, joined.
    var contentText: String {
        (self["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }
}

extension [JSONValue] {
    var types: [String] { map(\.eventType) }

    func ofType(_ type: String) -> [JSONValue] { filter { $0.eventType == type } }

    func count(ofType type: String) -> Int { ofType(type).count }

    /// The events after the last one of `type` (all when there is none).
    func after(lastOf type: String) -> [JSONValue] {
        guard let index = lastIndex(where: { $0.eventType == type }) else { return self }
        return Array(self[(index + 1)...])
    }
}

extension RecordedRequest {
    /// The request's system prompt (Anthropic `system`, or OpenAI system messages).
    var systemText: String {
        if let text = body["system"]?.stringValue { return text }
        if let blocks = body["system"]?.arrayValue { return blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n") }
        return (body["messages"]?.arrayValue ?? []).filter { $0["role"] == "system" }.compactMap { $0["content"]?.stringValue }.joined(separator: "\n")
    }

    /// The request's messages.
    var messages: [JSONValue] { body["messages"]?.arrayValue ?? [] }

    /// The whole body as text, for "contains" checks.
    var bodyText: String { (try? JSONCoding.string(body)) ?? "" }
}

/// A scenario from JSON text (a Swift-Testing-friendly wrapper that names the failure).
func runtimeScenario(_ json: String) throws -> MockScenario {
    try MockScenario(json: Data(json.utf8))
}
