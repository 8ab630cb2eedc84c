import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels

/// Runs `body` against an in-process mock model server on a free port and a fresh
/// `ModelHTTPClient`, shutting both down afterwards.
func withMockLLM<T>(
    _ scenario: MockScenario = MockScenario(), _ body: (MockLLMServer, ModelHTTPClient) async throws -> T
) async throws -> T {
    let server = MockLLMServer(scenario: scenario)
    try await server.start()
    let http = ModelHTTPClient()
    do {
        let result = try await body(server, http)
        try await http.shutdown()
        await server.stop()
        return result
    } catch {
        try? await http.shutdown()
        await server.stop()
        throw error
    }
}

/// A scenario read from JSON text.
func scenario(_ json: String) throws -> MockScenario {
    try MockScenario(json: Data(json.utf8))
}

extension MockLLMServer {
    /// The Anthropic provider pointed at this server.
    func anthropic(_ http: ModelHTTPClient, streaming: Bool = true, timeout: Duration = .seconds(10)) -> AnthropicProvider {
        AnthropicProvider(
            configuration: AnthropicConfiguration(baseURL: baseURL ?? "", apiKey: "test-key", timeout: timeout, streaming: streaming), http: http)
    }

    /// The OpenAI-compatible provider pointed at this server.
    func openAI(_ http: ModelHTTPClient, streaming: Bool = false, timeout: Duration = .seconds(10)) -> OpenAIProvider {
        OpenAIProvider(
            configuration: OpenAIConfiguration(baseURL: (baseURL ?? "") + "/v1", apiKey: "sk-test", timeout: timeout, streaming: streaming), http: http)
    }
}

/// Collects streamed events.
actor EventLog {
    private(set) var events: [ModelStreamEvent] = []
    func append(_ event: ModelStreamEvent) { events.append(event) }

    var text: String {
        events.map { event in
            if case .textDelta(_, let text) = event { return text }
            return ""
        }.joined()
    }

    var textDeltaCount: Int {
        events.filter { if case .textDelta = $0 { true } else { false } }.count
    }
}

/// Records retry notifications and requested sleeps.
actor RetryLog {
    private(set) var attempts: [RetryAttempt] = []
    private(set) var sleeps: [Duration] = []
    func append(_ attempt: RetryAttempt) { attempts.append(attempt) }
    func slept(_ duration: Duration) { sleeps.append(duration) }
}

let weatherTool = ToolDefinition(
    name: "get_weather", description: "Current weather for a city.",
    inputSchema: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]])
