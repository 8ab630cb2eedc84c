import Foundation
import ReverieCore

/// A model id resolved to the provider that serves it.
public struct ResolvedModel: Sendable {
    /// The id the agent configured.
    public let modelID: String
    public let providerName: String
    public let kind: ProviderKind
    /// The name sent to the provider.
    public let upstreamModel: String
    public let retryPolicy: RetryPolicy
    /// The model's context window (the route's setting, else known by name).
    public let contextWindow: ContextWindow
    /// Makes one attempt per call and sends `upstreamModel` in place of the requested model.
    public let provider: any ModelProvider

    /// `provider` wrapped in retries with `retryPolicy`.
    public func retrying(
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        onRetry: @escaping @Sendable (RetryAttempt) async -> Void = { _ in }
    ) -> RetryingModelProvider {
        RetryingModelProvider(provider, policy: retryPolicy, sleep: sleep, onRetry: onRetry)
    }
}

/// Decides which provider serves an agent's `model.id`, over one shared HTTP client.
///
/// ```swift
/// let catalog = try ModelCatalog.fromEnvironment()
/// let model = try catalog.provider(for: agent.model.id) { attempt in … log session.error … }
/// let reply = try await model.complete(request) { event in … stream agent.message deltas … }
/// try await catalog.shutdown()
/// ```
public final class ModelCatalog: Sendable {
    public let configuration: ModelCatalogConfiguration
    public let http: ModelHTTPClient
    private let ownsHTTPClient: Bool
    let telemetry: any Telemetry

    /// - Parameters:
    ///   - http: A client to share; when `nil` the catalog makes one and `shutdown()` closes it.
    ///   - telemetry: Told of every model call (each attempt), with its latency, tokens and error.
    public init(configuration: ModelCatalogConfiguration, http: ModelHTTPClient? = nil, telemetry: any Telemetry = NoTelemetry()) {
        self.configuration = configuration
        self.telemetry = telemetry
        self.ownsHTTPClient = http == nil
        self.http = http ?? ModelHTTPClient(maxConnectionsPerHost: configuration.maxConnectionsPerHost)
    }

    /// A catalog from `REVERIE_MODELS` and the `ANTHROPIC_*` / `OPENAI_*` variables.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment, http: ModelHTTPClient? = nil) throws
        -> ModelCatalog
    {
        ModelCatalog(configuration: try ModelCatalogConfiguration.fromEnvironment(environment), http: http)
    }

    /// The provider and upstream name for `modelID`, or `ModelError(.notConfigured)` when no
    /// route matches or the provider lacks its API key.
    public func resolve(_ modelID: String) throws -> ResolvedModel {
        guard let route = configuration.routes.first(where: { $0.matches(modelID) }) else {
            throw ModelError(.notConfigured, "no model provider is configured for model '\(modelID)'")
        }
        guard let settings = configuration.providers[route.provider] else {
            throw ModelError(.notConfigured, "model '\(modelID)' routes to provider '\(route.provider)', which is not configured")
        }
        if let reason = settings.unavailableReason {
            throw ModelError(.notConfigured, "model '\(modelID)' needs provider '\(route.provider)': \(reason)")
        }
        let base: any ModelProvider
        switch settings.kind {
        case .anthropic:
            base = AnthropicProvider(
                configuration: AnthropicConfiguration(
                    baseURL: settings.baseURL, apiKey: settings.apiKey, version: settings.anthropicVersion, betas: settings.betas,
                    headers: settings.headers, timeout: settings.timeout, streaming: settings.streaming ?? true,
                    promptCaching: settings.promptCaching),
                http: http)
        case .openai:
            base = OpenAIProvider(
                configuration: OpenAIConfiguration(
                    baseURL: settings.baseURL, apiKey: settings.apiKey, headers: settings.headers, timeout: settings.timeout,
                    streaming: settings.streaming ?? false, maxTokensField: settings.maxTokensField),
                http: http)
        }
        let upstream = route.upstream(for: modelID)
        return ResolvedModel(
            modelID: modelID, providerName: route.provider, kind: settings.kind, upstreamModel: upstream, retryPolicy: settings.retry,
            contextWindow: route.contextWindow(for: modelID),
            provider: ObservedModelProvider(
                base: UpstreamModelProvider(base: base, upstreamModel: upstream), providerName: route.provider, modelID: modelID,
                telemetry: telemetry))
    }

    /// The context window of `modelID`: its route's setting, else known by name (also when no
    /// route matches; the request then fails on its own).
    public func contextWindow(for modelID: String) -> ContextWindow {
        configuration.routes.first(where: { $0.matches(modelID) })?.contextWindow(for: modelID) ?? ContextWindow.known(for: modelID)
    }

    /// The list price of `modelID`: its route's, else known by name; nil when neither.
    public func price(for modelID: String) -> ModelPrice? {
        let route = configuration.routes.first(where: { $0.matches(modelID) })
        return route?.price ?? ModelPrice.known(for: route?.upstream(for: modelID) ?? modelID)
    }

    /// A ready provider for `modelID`: routed, renamed upstream, retried with the provider's policy.
    public func provider(for modelID: String, onRetry: @escaping @Sendable (RetryAttempt) async -> Void = { _ in }) throws -> RetryingModelProvider {
        try resolve(modelID).retrying(onRetry: onRetry)
    }

    /// Closes the HTTP client when the catalog created it.
    public func shutdown() async throws {
        if ownsHTTPClient { try await http.shutdown() }
    }
}

/// Sends a fixed upstream model name in place of the requested one.
struct UpstreamModelProvider: ModelProvider {
    let base: any ModelProvider
    let upstreamModel: String

    func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        var request = request
        request.model = upstreamModel
        return try await base.complete(request, onEvent: onEvent)
    }
}

/// Reports each call's latency, tokens and outcome to `Telemetry`.
struct ObservedModelProvider: ModelProvider {
    let base: any ModelProvider
    let providerName: String
    let modelID: String
    let telemetry: any Telemetry

    func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        let start = ContinuousClock.now
        do {
            let response = try await base.complete(request, onEvent: onEvent)
            telemetry.modelCall(
                provider: providerName, model: modelID, seconds: (ContinuousClock.now - start).seconds, inputTokens: response.usage.inputTokens,
                outputTokens: response.usage.outputTokens, error: nil)
            return response
        } catch {
            let kind = (error as? ModelError).map { "\($0.kind)" } ?? (error is CancellationError ? "canceled" : "other")
            telemetry.modelCall(
                provider: providerName, model: modelID, seconds: (ContinuousClock.now - start).seconds, inputTokens: 0, outputTokens: 0, error: kind)
            throw error
        }
    }
}
