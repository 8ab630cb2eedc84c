import Foundation
import ReverieCore

/// The wire format a provider speaks.
public enum ProviderKind: String, Sendable, Equatable, CaseIterable {
    /// Anthropic Messages API.
    case anthropic
    /// OpenAI-compatible chat completions.
    case openai
}

/// One configured model server.
public struct ProviderSettings: Sendable, Equatable {
    public var kind: ProviderKind
    public var baseURL: String
    public var apiKey: String?
    /// Why this provider cannot be used (a missing API key), reported as `.notConfigured` when a model routes to it.
    public var unavailableReason: String?
    public var headers: [String: String]
    public var timeout: Duration
    /// `nil`: the provider's default (Anthropic streams, OpenAI does not).
    public var streaming: Bool?
    /// Anthropic: the `anthropic-version` header.
    public var anthropicVersion: String
    /// Anthropic: `anthropic-beta` values.
    public var betas: [String]
    /// OpenAI: `max_tokens` or `max_completion_tokens`.
    public var maxTokensField: String
    /// Anthropic: mark the stable prefix and the conversation with `cache_control` on the agent
    /// loop's requests (default on).
    public var promptCaching: Bool
    public var retry: RetryPolicy

    public init(
        kind: ProviderKind, baseURL: String? = nil, apiKey: String? = nil, unavailableReason: String? = nil, headers: [String: String] = [:],
        timeout: Duration = .seconds(600), streaming: Bool? = nil, anthropicVersion: String = AnthropicConfiguration.defaultVersion,
        betas: [String] = [], maxTokensField: String = "max_tokens", promptCaching: Bool = true, retry: RetryPolicy = RetryPolicy()
    ) {
        self.kind = kind
        self.baseURL = baseURL ?? (kind == .anthropic ? AnthropicConfiguration.defaultBaseURL : OpenAIConfiguration.defaultBaseURL)
        self.apiKey = apiKey
        self.unavailableReason = unavailableReason
        self.headers = headers
        self.timeout = timeout
        self.streaming = streaming
        self.anthropicVersion = anthropicVersion
        self.betas = betas
        self.maxTokensField = maxTokensField
        self.promptCaching = promptCaching
        self.retry = retry
    }
}

/// Which provider serves a model id, and under which upstream name.
public struct ModelRoute: Sendable, Equatable {
    /// An exact model id, a prefix ending in `*` (`claude-*`), or `*` for every model.
    public var match: String
    /// The name of a provider in `ModelCatalogConfiguration.providers`.
    public var provider: String
    /// The model name sent upstream; `nil` sends the requested id (minus the prefix when `stripPrefix`).
    public var upstreamModel: String?
    /// For prefix matches: send the id without the matched prefix (`ollama/llama3` → `llama3`).
    public var stripPrefix: Bool
    /// The model's context window in tokens; nil: known for Claude and some OpenAI models, else
    /// `ContextWindow.defaultTokens`.
    public var contextWindow: Int?
    /// The share of the window at which compaction starts; nil: 0.8.
    public var compactionThreshold: Double?
    /// The list price of the models this route serves; nil: known for Claude models by name.
    public var price: ModelPrice?

    public init(
        match: String, provider: String, upstreamModel: String? = nil, stripPrefix: Bool = false, contextWindow: Int? = nil,
        compactionThreshold: Double? = nil, price: ModelPrice? = nil
    ) {
        self.price = price
        self.match = match
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.stripPrefix = stripPrefix
        self.contextWindow = contextWindow
        self.compactionThreshold = compactionThreshold
    }

    /// The context window of a model id this route matches.
    public func contextWindow(for modelID: String) -> ContextWindow {
        var window = contextWindow.map { ContextWindow(tokens: $0) } ?? ContextWindow.known(for: upstream(for: modelID))
        if let compactionThreshold { window.compactionThreshold = min(1, max(0.05, compactionThreshold)) }
        return window
    }

    public func matches(_ modelID: String) -> Bool {
        if match.hasSuffix("*") { return modelID.hasPrefix(match.dropLast()) }
        return modelID == match
    }

    /// The upstream name for a model id this route matches.
    public func upstream(for modelID: String) -> String {
        if let upstreamModel { return upstreamModel }
        if stripPrefix, match.hasSuffix("*") { return String(modelID.dropFirst(match.count - 1)) }
        return modelID
    }
}

/// Providers and routes: which server answers which agent `model.id`.
///
/// Built from the environment (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `OPENAI_API_KEY`,
/// `OPENAI_BASE_URL`, `REVERIE_DEFAULT_PROVIDER`) and, when `REVERIE_MODELS` names a file,
/// from that JSON file. See `docs/models.md`.
public struct ModelCatalogConfiguration: Sendable, Equatable {
    public var providers: [String: ProviderSettings]
    /// Tried in order; the first match wins.
    public var routes: [ModelRoute]
    /// HTTP/1 connections kept per model server (bounds concurrent calls to one server).
    public var maxConnectionsPerHost: Int

    public init(providers: [String: ProviderSettings], routes: [ModelRoute], maxConnectionsPerHost: Int = 1024) {
        self.providers = providers
        self.routes = routes
        self.maxConnectionsPerHost = maxConnectionsPerHost
    }

    /// The configuration the environment describes: `REVERIE_MODELS` (a JSON file) when set,
    /// else providers and routes from the `ANTHROPIC_*` / `OPENAI_*` variables.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ModelCatalogConfiguration {
        if let path = environment["REVERIE_MODELS"], !path.isEmpty {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ModelError(.notConfigured, "REVERIE_MODELS: cannot read \(path): \(error.localizedDescription)")
            }
            do {
                return try parse(json: data, environment: environment)
            } catch let error as ModelError {
                throw ModelError(.notConfigured, "REVERIE_MODELS \(path): \(error.message)")
            }
        }
        return try parse(json: Data("{}".utf8), environment: environment)
    }

    /// The providers the environment variables describe: `anthropic` always (at
    /// `ANTHROPIC_BASE_URL`, default https://api.anthropic.com, key `ANTHROPIC_API_KEY`), and
    /// `openai` when `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set.
    public static func environmentProviders(_ environment: [String: String], timeout: Duration = .seconds(600), retry: RetryPolicy = RetryPolicy())
        -> [String: ProviderSettings]
    {
        var providers: [String: ProviderSettings] = [:]
        let anthropicURL = nonEmpty(environment["ANTHROPIC_BASE_URL"]) ?? AnthropicConfiguration.defaultBaseURL
        let anthropicKey = nonEmpty(environment["ANTHROPIC_API_KEY"])
        // A key is mandatory for Anthropic's own API; a self-hosted or mock server may not need one.
        let needsKey = anthropicKey == nil && anthropicURL.trimmingTrailingSlashes() == AnthropicConfiguration.defaultBaseURL
        providers["anthropic"] = ProviderSettings(
            kind: .anthropic, baseURL: anthropicURL, apiKey: anthropicKey,
            unavailableReason: needsKey ? "ANTHROPIC_API_KEY is not set" : nil, timeout: timeout, retry: retry)
        let openAIURL = nonEmpty(environment["OPENAI_BASE_URL"])
        let openAIKey = nonEmpty(environment["OPENAI_API_KEY"])
        if openAIURL != nil || openAIKey != nil {
            providers["openai"] = ProviderSettings(kind: .openai, baseURL: openAIURL, apiKey: openAIKey, timeout: timeout, retry: retry)
        }
        return providers
    }

    /// Routes used when the configuration file lists none: `anthropic/…` and `openai/…` go to
    /// those providers (prefix stripped), everything else to `REVERIE_DEFAULT_PROVIDER`
    /// (default `anthropic`).
    public static func defaultRoutes(providers: [String: ProviderSettings], environment: [String: String]) -> [ModelRoute] {
        var routes: [ModelRoute] = []
        for name in providers.keys.sorted() { routes.append(ModelRoute(match: "\(name)/*", provider: name, stripPrefix: true)) }
        let fallback = nonEmpty(environment["REVERIE_DEFAULT_PROVIDER"]) ?? "anthropic"
        routes.append(ModelRoute(match: "*", provider: fallback))
        return routes
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }
}
