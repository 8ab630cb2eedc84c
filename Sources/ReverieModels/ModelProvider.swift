import ReverieCore

/// A model behind one HTTP API (Anthropic Messages, OpenAI-compatible chat completions).
///
/// Providers speak their wire format over real HTTP, apply timeouts, and report failures as
/// `ModelError`. Retrying is layered on top (`RetryingModelProvider`), so a provider makes
/// exactly one attempt per call.
public protocol ModelProvider: Sendable {
    /// Sends one request and returns the complete reply. While the reply is generated,
    /// `onEvent` receives streaming progress (text deltas) when the provider streams.
    func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse
}

extension ModelProvider {
    /// Sends one request without observing progress.
    public func complete(_ request: ModelRequest) async throws -> ModelResponse {
        try await complete(request, onEvent: { _ in })
    }
}

/// One model call: the system prompt, the conversation and the tools the model may call.
public struct ModelRequest: Sendable, Equatable {
    /// The model name as the agent configures it (mapped to a provider model by the catalog).
    public var model: String
    public var system: String?
    public var messages: [ModelMessage]
    public var tools: [ToolDefinition]
    /// The tool the model must call (Anthropic `tool_choice: {type: "tool"}`, OpenAI
    /// `tool_choice: {type: "function"}`); nil leaves the choice to the model.
    public var requiredTool: String?
    public var maxTokens: Int
    public var temperature: Double?
    /// The request is one step of a conversation that goes on: providers with prompt caching
    /// mark its stable prefix (tools, system prompt) and its conversation so the next step
    /// reads them from the cache (Anthropic `cache_control`). One-off calls leave it off, as a
    /// cache write costs more than a plain input token.
    public var promptCaching: Bool

    public init(model: String, system: String? = nil, messages: [ModelMessage], tools: [ToolDefinition] = [], requiredTool: String? = nil,
                maxTokens: Int = 4096, temperature: Double? = nil, promptCaching: Bool = false) {
        self.model = model
        self.system = system
        self.messages = messages
        self.tools = tools
        self.requiredTool = requiredTool
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.promptCaching = promptCaching
    }
}

/// A turn of the conversation.
public struct ModelMessage: Sendable, Equatable {
    public enum Role: String, Sendable, Equatable {
        case user, assistant
    }

    public var role: Role
    public var content: [ContentBlock]

    public init(role: Role, content: [ContentBlock]) {
        self.role = role
        self.content = content
    }

    public static func user(_ text: String) -> ModelMessage { ModelMessage(role: .user, content: [.text(text)]) }
    public static func assistant(_ text: String) -> ModelMessage { ModelMessage(role: .assistant, content: [.text(text)]) }
}

/// A content block of a message, in the Anthropic Messages vocabulary (the OpenAI provider
/// translates to and from `tool_calls` and `role: tool` messages).
public enum ContentBlock: Sendable, Equatable {
    case text(String)
    /// Extended thinking; `signature` is passed back unchanged to providers that need it.
    case thinking(text: String, signature: String?)
    /// A tool call the model made; `input` is a JSON object.
    case toolUse(id: String, name: String, input: JSONValue)
    /// The result of a tool call, sent back in a user message.
    case toolResult(toolUseID: String, content: [ToolResultContent], isError: Bool)
    /// An image or document block as the Messages API takes it (`{"type":"image","source":…}`).
    case media(JSONValue)
}

/// What a tool result holds: text, or an image/document block.
public enum ToolResultContent: Sendable, Equatable {
    case text(String)
    case media(JSONValue)
}

/// A tool the model may call.
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    /// JSON Schema of the input object.
    public var inputSchema: JSONValue

    public init(name: String, description: String, inputSchema: JSONValue) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
    }
}

/// Why the model stopped.
public enum StopReason: Sendable, Equatable {
    case endTurn
    case toolUse
    case maxTokens
    case stopSequence
    case refusal
    case other(String)
}

/// Tokens a call consumed.
public struct TokenUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadInputTokens: Int
    public var cacheCreationInputTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
    }

    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            inputTokens: lhs.inputTokens + rhs.inputTokens, outputTokens: lhs.outputTokens + rhs.outputTokens,
            cacheReadInputTokens: lhs.cacheReadInputTokens + rhs.cacheReadInputTokens,
            cacheCreationInputTokens: lhs.cacheCreationInputTokens + rhs.cacheCreationInputTokens)
    }
}

/// A complete reply.
public struct ModelResponse: Sendable, Equatable {
    public var content: [ContentBlock]
    public var stopReason: StopReason
    public var usage: TokenUsage
    /// The model that answered, as the provider names it.
    public var model: String

    public init(content: [ContentBlock], stopReason: StopReason, usage: TokenUsage, model: String) {
        self.content = content
        self.stopReason = stopReason
        self.usage = usage
        self.model = model
    }
}

/// Progress while a reply streams in.
public enum ModelStreamEvent: Sendable, Equatable {
    /// Text was appended to the content block at `index`.
    case textDelta(index: Int, text: String)
    /// The model began a thinking block.
    case thinkingStarted(index: Int)
}

/// A failed model call, classified so callers know whether retrying can help.
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// HTTP 429.
        case rateLimited
        /// HTTP 529 or an `overloaded_error`.
        case overloaded
        /// HTTP 5xx.
        case serverError
        /// No reply within the timeout.
        case timeout
        /// The connection failed or dropped.
        case connection
        /// A stream ended before its final event.
        case truncated
        /// HTTP 400/404/422: the request itself is wrong.
        case invalidRequest
        /// HTTP 401/403.
        case authentication
        /// The reply could not be understood.
        case invalidResponse
        /// No provider is configured for the model.
        case notConfigured
    }

    public var kind: Kind
    public var message: String
    public var statusCode: Int?
    /// Seconds the server asked us to wait (`retry-after`).
    public var retryAfter: Double?
    /// Set by `RetryingModelProvider` when it gave up: the number of attempts made, the last
    /// of which failed with this error.
    public var exhaustedAttempts: Int?

    public init(_ kind: Kind, _ message: String, statusCode: Int? = nil, retryAfter: Double? = nil, exhaustedAttempts: Int? = nil) {
        self.kind = kind
        self.message = message
        self.statusCode = statusCode
        self.retryAfter = retryAfter
        self.exhaustedAttempts = exhaustedAttempts
    }

    /// Whether this error ended a call because every configured attempt failed
    /// (the session goes idle with `retries_exhausted`).
    public var retriesExhausted: Bool { exhaustedAttempts != nil }

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .overloaded, .serverError, .timeout, .connection, .truncated: true
        case .invalidRequest, .authentication, .invalidResponse, .notConfigured: false
        }
    }

    public var description: String {
        let status = statusCode.map { " (HTTP \($0))" } ?? ""
        let attempts = exhaustedAttempts.map { " [retries exhausted after \($0) attempts]" } ?? ""
        return "\(kind.rawValue)\(status): \(message)\(attempts)"
    }
}
