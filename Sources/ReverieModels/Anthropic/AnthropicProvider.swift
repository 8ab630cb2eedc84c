import AsyncHTTPClient
import Foundation
import ReverieCore

/// Where and how to reach an Anthropic Messages API server.
public struct AnthropicConfiguration: Sendable, Equatable {
    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let defaultVersion = "2023-06-01"

    /// Server root without `/v1` (like `ANTHROPIC_BASE_URL`); requests go to `<baseURL>/v1/messages`.
    public var baseURL: String
    /// Sent as `x-api-key` when set.
    public var apiKey: String?
    /// The `anthropic-version` header.
    public var version: String
    /// Sent as `anthropic-beta` (comma-separated) when not empty.
    public var betas: [String]
    /// Further headers sent with every call.
    public var headers: [String: String]
    /// The longest one call (connect, reply and the whole stream) may take.
    public var timeout: Duration
    /// Stream replies over SSE (`"stream": true`), which delivers text deltas through `onEvent`.
    public var streaming: Bool
    /// Honour `ModelRequest.promptCaching` with `cache_control` breakpoints.
    public var promptCaching: Bool

    public init(
        baseURL: String = AnthropicConfiguration.defaultBaseURL, apiKey: String? = nil, version: String = AnthropicConfiguration.defaultVersion,
        betas: [String] = [], headers: [String: String] = [:], timeout: Duration = .seconds(600), streaming: Bool = true,
        promptCaching: Bool = true
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.version = version
        self.betas = betas
        self.headers = headers
        self.timeout = timeout
        self.streaming = streaming
        self.promptCaching = promptCaching
    }

    /// `<baseURL>/v1/messages`.
    public var messagesURL: String { baseURL.trimmingTrailingSlashes() + "/v1/messages" }
}

/// The Anthropic Messages API (`POST /v1/messages`): streams the reply over SSE by default,
/// reporting text deltas through `onEvent`, and makes exactly one attempt per call.
public struct AnthropicProvider: ModelProvider {
    public let configuration: AnthropicConfiguration
    let http: ModelHTTPClient

    public init(configuration: AnthropicConfiguration, http: ModelHTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        let streaming = configuration.streaming
        let body = AnthropicWire.requestBody(request, stream: streaming, caching: configuration.promptCaching && request.promptCaching)
        return try await http.postJSON(url: configuration.messagesURL, headers: headers(streaming: streaming), body: body, timeout: configuration.timeout) {
            response in
            if streaming {
                return try await AnthropicStreamAccumulator.read(response, onEvent: onEvent)
            } else {
                let json = try await ModelHTTPClient.readJSON(response)
                return try AnthropicWire.response(from: json)
            }
        }
    }

    private func headers(streaming: Bool) -> [(String, String)] {
        var headers: [(String, String)] = [("anthropic-version", configuration.version)]
        if let apiKey = configuration.apiKey, !apiKey.isEmpty { headers.append(("x-api-key", apiKey)) }
        if !configuration.betas.isEmpty { headers.append(("anthropic-beta", configuration.betas.joined(separator: ","))) }
        if streaming { headers.append(("accept", "text/event-stream")) }
        for (name, value) in configuration.headers.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        return headers
    }
}

extension String {
    func trimmingTrailingSlashes() -> String {
        var text = self
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
