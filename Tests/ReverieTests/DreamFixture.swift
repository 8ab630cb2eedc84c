import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieServer
import ReverieStore

/// A real server whose models (the dreamer) are an in-process mock model server, plus
/// builders for input stores and sessions with realistic logs.
final class DreamFixture: Sendable {
    let mock: MockLLMServer
    let server: TestServer
    var platform: Platform { server.platform }

    private init(mock: MockLLMServer, server: TestServer) {
        self.mock = mock
        self.server = server
    }

    static func start(
        _ scenario: MockScenario, directory: String? = nil, settings: DreamSettings = DreamSettings(), mock existing: MockLLMServer? = nil,
        wire: ProviderKind = .anthropic
    ) async throws -> DreamFixture {
        let mock = existing ?? MockLLMServer(scenario: scenario)
        if existing == nil { try await mock.start() }
        let url = mock.baseURL ?? ""
        let server = try await TestServer.start(directory: directory) { configuration in
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: wire, baseURL: wire == .anthropic ? url : url + "/v1", apiKey: "test", timeout: .seconds(20), retry: .none)],
                routes: [ModelRoute(match: "*", provider: "mock")])
            configuration.dreams = settings
        }
        return DreamFixture(mock: mock, server: server)
    }

    static func with(
        _ scenario: MockScenario, settings: DreamSettings = DreamSettings(), wire: ProviderKind = .anthropic, _ body: (DreamFixture) async throws -> Void
    ) async throws {
        let fixture = try await start(scenario, settings: settings, wire: wire)
        try await run({ try await body(fixture) }, thenStop: fixture.stop)
    }

    func stop() async {
        await server.stop()
        await mock.stop()
    }

    // MARK: inputs

    func makeStore(_ memories: [(path: String, content: String, pinned: Bool)]) async throws -> String {
        let store = try await platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["name": "Team lessons", "description": "what we learned"]), creating: true))
        for memory in memories {
            _ = try await server.host.store.createMemory(
                storeID: store.id, path: memory.path, content: memory.content, pinned: memory.pinned, actor: .user("tester"), at: Timestamp.now())
        }
        return store.id
    }

    /// A session (no agent runs: events are appended directly) whose log holds `events`.
    func makeSession(_ events: [SessionEvent]) async throws -> String {
        let agent = try await agentID()
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": .string("env-\(UUID().uuidString.prefix(8))")]), creating: true))
        let session = try await platform.sessions.createSession(try SessionCreateRequest(ObjectReader(["agent": .string(agent), "environment_id": .string(environment.id)])))
        _ = try await platform.log.append(events, to: session.id)
        return session.id
    }

    private func agentID() async throws -> String {
        try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "worker", "model": "claude-test"]))).id
    }

    /// A typical working session of about `kilobytes` KB: a request, tool calls with large
    /// outputs, a correction, and the end of the turn.
    static func workLog(task: String, kilobytes: Int = 16, extra: [SessionEvent] = []) -> [SessionEvent] {
        var events: [SessionEvent] = [
            SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": .string("Please \(task).")]]]),
        ]
        let chunk = String(repeating: "line of build output that nobody needs to read\n", count: 20)
        var size = 0
        var call = 0
        while size < kilobytes * 1024 {
            call += 1
            let use = SessionEvent(type: .agentToolUse, fields: ["name": "bash", "input": ["command": .string("make step\(call)")]])
            events.append(use)
            events.append(SessionEvent(type: .agentToolResult, fields: [
                "tool_use_id": .string(use.id), "content": [["type": "text", "text": .string(chunk)]], "is_error": .bool(call % 3 == 0),
            ]))
            size += chunk.utf8.count + 200
        }
        events.append(SessionEvent(type: .agentMessage, fields: ["content": [["type": "text", "text": "Done, I think."]]]))
        events.append(SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": "No: you forgot to run the tests first."]]]))
        events += extra
        events.append(SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]))
        return events
    }

    // MARK: dreams

    func createDream(store: String, sessions: [String], extra: [String: JSONValue] = [:]) async throws -> Dream {
        var body: [String: JSONValue] = [
            "inputs": [
                ["type": "memory_store", "memory_store_id": .string(store)],
                ["type": "sessions", "session_ids": .array(sessions.map(JSONValue.string))],
            ],
            "model": "claude-dreamer",
        ]
        for (key, value) in extra { body[key] = value }
        return try await platform.dreams.createDream(try DreamRequest(ObjectReader(.object(body))))
    }

    /// Waits until the dream ends (or `status` is reached).
    func wait(_ id: String, for statuses: Set<Dream.Status> = [.completed, .failed, .canceled], timeout: Duration = .seconds(60)) async throws -> Dream {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let dream = try await platform.dreams.dream(id: id)
            if statuses.contains(dream.status) { return dream }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("dream \(id) did not reach \(statuses) in time")
    }

    /// Every memory of a store as `path → content`.
    func contents(_ store: String) async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try await platform.memory.memoryFiles(storeID: store).map { ($0.path, $0.content) })
    }

    /// A digest of everything a store holds: memories, pins and every version.
    func fingerprint(_ store: String) async throws -> String {
        var text = ""
        for file in try await platform.memory.memoryFiles(storeID: store) { text += "\(file.path)|\(file.pinned)|\(file.versionID)|\(file.content)\n" }
        let versions = try await server.host.store.listMemoryVersions(storeID: store, MemoryVersionFilter(), page: PageRequest(limit: 1000))
        text += "versions: \(versions.items.count)"
        return text
    }
}

/// A dreamer scenario: the extraction and curation replies, as JSON the model would write.
func dreamerScenario(candidates: JSONValue, operations: JSONValue, latencyMs: Int = 0) throws -> MockScenario {
    let extract = try JSONCoding.string(JSONValue.object(["candidates": candidates]))
    let curate = try JSONCoding.string(JSONValue.object(["operations": operations]))
    return MockScenario(
        rules: [
            MockRule(name: "extract", systemContains: "propose lessons", MockStep(reply: [.text(extract)], latencyMs: latencyMs)),
            MockRule(name: "curate", systemContains: "You maintain a memory store", MockStep(reply: [.text(curate)], latencyMs: latencyMs)),
        ])
}

/// One proposed operation.
func proposal(_ op: String, _ path: String, content: String? = nil, session: String = "S1", events: [String] = ["e1"], rationale: String = "seen in the sessions")
    -> JSONValue
{
    var object: [String: JSONValue] = [
        "op": .string(op), "path": .string(path), "rationale": .string(rationale),
        "evidence": [["session": .string(session), "events": .array(events.map(JSONValue.string))]],
    ]
    if let content { object["content"] = .string(content) }
    return .object(object)
}
