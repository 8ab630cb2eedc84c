import Foundation
import ReverieCore

/// What the mock model server answers: ordered rules, tried top to bottom, and a fallback.
/// Read from JSON with `MockScenario(json:)`; the format is documented in `docs/mock-llm.md`.
public struct MockScenario: Sendable, Equatable {
    public var defaults: MockDefaults
    public var rules: [MockRule]
    /// Answers requests that no rule matches.
    public var fallback: MockStep

    public init(rules: [MockRule] = [], defaults: MockDefaults = MockDefaults(), fallback: MockStep = MockStep(reply: [.text("This is the mock model.")])) {
        self.defaults = defaults
        self.rules = rules
        self.fallback = fallback
    }
}

/// Settings that apply to every reply unless a step overrides them.
public struct MockDefaults: Sendable, Equatable {
    /// Wait before answering (a non-blocking sleep).
    public var latencyMs: Int
    /// Wait between streamed events.
    public var chunkDelayMs: Int
    /// The model name in replies; `nil` echoes the requested model.
    public var model: String?

    public init(latencyMs: Int = 0, chunkDelayMs: Int = 0, model: String? = nil) {
        self.latencyMs = latencyMs
        self.chunkDelayMs = chunkDelayMs
        self.model = model
    }
}

/// Which API a request came in on.
public enum MockAPI: String, Sendable, Equatable {
    /// `POST /v1/messages`.
    case anthropic
    /// `POST /v1/chat/completions`.
    case openai
}

/// A rule: matchers (all given ones must hold) and the step(s) to answer with.
public struct MockRule: Sendable, Equatable {
    public var name: String?
    /// The system prompt contains this text.
    public var systemContains: String?
    /// The system prompt matches this regular expression.
    public var systemRegex: String?
    /// The latest user text (or tool-result text) contains this text.
    public var lastUserContains: String?
    /// The latest user text (or tool-result text) matches this regular expression.
    public var lastUserRegex: String?
    /// The requested model is exactly this.
    public var model: String?
    /// The request came in on this API.
    public var api: MockAPI?
    /// A tool of this name is offered.
    public var hasTool: String?
    /// Matches this many times, then falls through to later rules.
    public var times: Int?
    /// Successive matches answer with successive steps; the last one repeats.
    public var sequence: [MockStep]

    public init(
        name: String? = nil, systemContains: String? = nil, systemRegex: String? = nil, lastUserContains: String? = nil, lastUserRegex: String? = nil,
        model: String? = nil, api: MockAPI? = nil, hasTool: String? = nil, times: Int? = nil, sequence: [MockStep]
    ) {
        self.name = name
        self.systemContains = systemContains
        self.systemRegex = systemRegex
        self.lastUserContains = lastUserContains
        self.lastUserRegex = lastUserRegex
        self.model = model
        self.api = api
        self.hasTool = hasTool
        self.times = times
        self.sequence = sequence.isEmpty ? [MockStep()] : sequence
    }

    /// A rule that answers every match with `step`.
    public init(
        name: String? = nil, systemContains: String? = nil, lastUserContains: String? = nil, model: String? = nil, times: Int? = nil, _ step: MockStep
    ) {
        self.init(name: name, systemContains: systemContains, lastUserContains: lastUserContains, model: model, times: times, sequence: [step])
    }
}

/// One answer: reply blocks, or an injected failure.
public struct MockStep: Sendable, Equatable {
    public var reply: [MockBlock]
    /// Defaults to `tool_use` when the reply has a tool call, else `end_turn`.
    public var stopReason: String?
    /// Defaults to an estimate (request bytes / 4 in, reply characters / 4 out).
    public var usage: MockUsage?
    /// Overrides `MockDefaults.latencyMs`.
    public var latencyMs: Int?
    /// Overrides `MockDefaults.chunkDelayMs`.
    public var chunkDelayMs: Int?
    /// Answer with this HTTP status (429, 500, 529, …) and an error body.
    public var failWith: Int?
    /// Failure injection (`failWith`, `truncateStream`, `streamError`) applies to the rule's
    /// first `failTimes` matches only; `nil` means every match.
    public var failTimes: Int?
    /// Sent as `retry-after` (seconds) with an injected failure.
    public var retryAfter: Double?
    public var errorMessage: String?
    /// Cut the reply off: a stream ends after its first delta without `message_stop`/`[DONE]`;
    /// a non-streamed body closes the connection half-way.
    public var truncateStream: Bool
    /// Anthropic streams: send an `error` event of this type (e.g. `overloaded_error`) after the first delta.
    public var streamError: String?
    /// Hold the answer until the gate of this name opens (`MockLLMServer.openGate(_:)`,
    /// `POST /_mock/gates/<name>`): tests use it to act while a model call is provably in flight.
    public var hold: String?

    public init(
        reply: [MockBlock] = [], stopReason: String? = nil, usage: MockUsage? = nil, latencyMs: Int? = nil, chunkDelayMs: Int? = nil, failWith: Int? = nil,
        failTimes: Int? = nil, retryAfter: Double? = nil, errorMessage: String? = nil, truncateStream: Bool = false, streamError: String? = nil,
        hold: String? = nil
    ) {
        self.reply = reply
        self.stopReason = stopReason
        self.usage = usage
        self.latencyMs = latencyMs
        self.chunkDelayMs = chunkDelayMs
        self.failWith = failWith
        self.failTimes = failTimes
        self.retryAfter = retryAfter
        self.errorMessage = errorMessage
        self.truncateStream = truncateStream
        self.streamError = streamError
        self.hold = hold
    }

    /// A plain text reply.
    public static func text(_ text: String) -> MockStep { MockStep(reply: [.text(text)]) }

    /// An HTTP failure.
    public static func failure(_ status: Int, retryAfter: Double? = nil) -> MockStep { MockStep(failWith: status, retryAfter: retryAfter) }

    /// Whether the step injects any failure.
    var injectsFailure: Bool { failWith != nil || truncateStream || streamError != nil }

    /// The stop reason to report (Anthropic vocabulary).
    var effectiveStopReason: String {
        if let stopReason { return stopReason }
        return reply.contains(where: \.isToolUse) ? "tool_use" : "end_turn"
    }
}

/// A reply block. In text blocks and tool inputs, `{{last_user}}` and `{{match:REGEX}}` are
/// filled from the latest user text (`MockTemplate`).
public enum MockBlock: Sendable, Equatable {
    case text(String)
    case thinking(String, signature: String?)
    /// A tool call; the mock makes an id when `id` is `nil`.
    case toolUse(name: String, input: JSONValue, id: String? = nil)

    var isToolUse: Bool {
        if case .toolUse = self { return true }
        return false
    }
}

/// Token counts to report.
public struct MockUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadInputTokens: Int
    public var cacheCreationInputTokens: Int

    public init(inputTokens: Int, outputTokens: Int, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
    }
}

/// A scenario file that cannot be used.
public struct MockScenarioError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
