import AsyncHTTPClient
import Foundation
import ReverieCore

/// Where and how to reach an OpenAI-compatible chat-completions server (OpenAI, vLLM,
/// Ollama, llama.cpp server, LM Studio).
public struct OpenAIConfiguration: Sendable, Equatable {
    public static let defaultBaseURL = "https://api.openai.com/v1"

    /// API root including its version segment (like `OPENAI_BASE_URL`, e.g.
    /// `http://localhost:11434/v1`); requests go to `<baseURL>/chat/completions`.
    public var baseURL: String
    /// Sent as `Authorization: Bearer …` when set.
    public var apiKey: String?
    /// Further headers sent with every call.
    public var headers: [String: String]
    /// The longest one call may take.
    public var timeout: Duration
    /// Stream replies (`"stream": true`, with `stream_options.include_usage`), which delivers
    /// text deltas through `onEvent`. Off by default: not every local server streams tool calls.
    public var streaming: Bool
    /// The request field carrying the token limit: `max_tokens` (most servers) or
    /// `max_completion_tokens` (newer OpenAI models).
    public var maxTokensField: String

    public init(
        baseURL: String = OpenAIConfiguration.defaultBaseURL, apiKey: String? = nil, headers: [String: String] = [:],
        timeout: Duration = .seconds(600), streaming: Bool = false, maxTokensField: String = "max_tokens"
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.headers = headers
        self.timeout = timeout
        self.streaming = streaming
        self.maxTokensField = maxTokensField
    }

    /// `<baseURL>/chat/completions`.
    public var completionsURL: String { baseURL.trimmingTrailingSlashes() + "/chat/completions" }
}

/// OpenAI-compatible chat completions (`POST /chat/completions`). Tools become
/// `{"type":"function","function":{…}}`, tool calls `tool_calls`, tool results `role: "tool"`
/// messages; one attempt per call.
public struct OpenAIProvider: ModelProvider {
    public let configuration: OpenAIConfiguration
    let http: ModelHTTPClient

    public init(configuration: OpenAIConfiguration, http: ModelHTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        let streaming = configuration.streaming
        let body = OpenAIWire.requestBody(request, stream: streaming, maxTokensField: configuration.maxTokensField)
        var headers: [(String, String)] = []
        if let apiKey = configuration.apiKey, !apiKey.isEmpty { headers.append(("authorization", "Bearer \(apiKey)")) }
        if streaming { headers.append(("accept", "text/event-stream")) }
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        return try await http.postJSON(url: configuration.completionsURL, headers: headers, body: body, timeout: configuration.timeout) {
            response in
            if streaming {
                return try await OpenAIStreamAccumulator.read(response, onEvent: onEvent)
            } else {
                return try OpenAIWire.response(from: try await ModelHTTPClient.readJSON(response))
            }
        }
    }
}
