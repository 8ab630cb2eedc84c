import Foundation
import ReverieCore

extension ModelCatalogConfiguration {
    /// Reads the `REVERIE_MODELS` JSON format (see `docs/models.md`). Providers named in the
    /// file replace the environment's providers of the same name; without a `models` list the
    /// default routes apply, with one only its routes do.
    public static func parse(json data: Data, environment: [String: String]) throws -> ModelCatalogConfiguration {
        let root: JSONValue
        do {
            root = try JSONCoding.decode(JSONValue.self, from: data)
        } catch {
            throw ModelError(.notConfigured, "not valid JSON: \(error)")
        }
        guard let object = root.objectValue else { throw ModelError(.notConfigured, "the configuration must be a JSON object") }
        try checkKeys(object, allowed: ["providers", "models", "timeout_seconds", "retry", "max_connections_per_host"], at: "")
        let timeout = try seconds(object["timeout_seconds"], at: "timeout_seconds") ?? .seconds(600)
        let retry = try retryPolicy(object["retry"], at: "retry", base: RetryPolicy())
        var providers = environmentProviders(environment, timeout: timeout, retry: retry)
        if let value = object["providers"] {
            guard let entries = value.objectValue else { throw ModelError(.notConfigured, "providers must be an object") }
            for (name, entry) in entries {
                providers[name] = try provider(entry, at: "providers.\(name)", environment: environment, timeout: timeout, retry: retry)
            }
        }
        let routes: [ModelRoute]
        if let value = object["models"] {
            guard let entries = value.arrayValue else { throw ModelError(.notConfigured, "models must be an array") }
            routes = try entries.enumerated().map { index, entry in try route(entry, at: "models[\(index)]") }
        } else {
            routes = defaultRoutes(providers: providers, environment: environment)
        }
        for (index, route) in routes.enumerated() where providers[route.provider] == nil {
            throw ModelError(.notConfigured, "models[\(index)].provider: no provider named '\(route.provider)'")
        }
        var maxConnections = 1024
        if let value = object["max_connections_per_host"] {
            guard let number = value.intValue, number > 0 else {
                throw ModelError(.notConfigured, "max_connections_per_host must be a positive integer")
            }
            maxConnections = Int(number)
        }
        return ModelCatalogConfiguration(providers: providers, routes: routes, maxConnectionsPerHost: maxConnections)
    }

    private static func provider(_ json: JSONValue, at path: String, environment: [String: String], timeout: Duration, retry: RetryPolicy) throws
        -> ProviderSettings
    {
        guard let object = json.objectValue else { throw ModelError(.notConfigured, "\(path) must be an object") }
        try checkKeys(
            object,
            allowed: [
                "type", "base_url", "api_key", "api_key_env", "headers", "timeout_seconds", "streaming", "anthropic_version", "betas",
                "max_tokens_field", "retry", "prompt_caching",
            ], at: path)
        guard let typeName = try string(object["type"], at: "\(path).type"), let kind = ProviderKind(rawValue: typeName) else {
            throw ModelError(.notConfigured, "\(path).type must be \"anthropic\" or \"openai\"")
        }
        var settings = ProviderSettings(
            kind: kind, baseURL: try string(object["base_url"], at: "\(path).base_url"), timeout: try seconds(object["timeout_seconds"], at: "\(path).timeout_seconds") ?? timeout,
            retry: try retryPolicy(object["retry"], at: "\(path).retry", base: retry))
        if let key = try string(object["api_key"], at: "\(path).api_key") {
            settings.apiKey = key
        } else if let variable = try string(object["api_key_env"], at: "\(path).api_key_env") {
            settings.apiKey = nonEmpty(environment[variable])
            if settings.apiKey == nil { settings.unavailableReason = "\(variable) (the API key of provider \(path)) is not set" }
        }
        if let value = object["headers"] {
            guard let headers = value.objectValue else { throw ModelError(.notConfigured, "\(path).headers must be an object of strings") }
            for (name, header) in headers {
                guard let text = header.stringValue else { throw ModelError(.notConfigured, "\(path).headers.\(name) must be a string") }
                settings.headers[name] = text
            }
        }
        if let value = object["streaming"] {
            guard let flag = value.boolValue else { throw ModelError(.notConfigured, "\(path).streaming must be a boolean") }
            settings.streaming = flag
        }
        if let value = object["prompt_caching"] {
            guard let flag = value.boolValue else { throw ModelError(.notConfigured, "\(path).prompt_caching must be a boolean") }
            settings.promptCaching = flag
        }
        if let version = try string(object["anthropic_version"], at: "\(path).anthropic_version") { settings.anthropicVersion = version }
        if let value = object["betas"] {
            guard let betas = value.arrayValue?.compactMap(\.stringValue), betas.count == value.arrayValue?.count else {
                throw ModelError(.notConfigured, "\(path).betas must be an array of strings")
            }
            settings.betas = betas
        }
        if let field = try string(object["max_tokens_field"], at: "\(path).max_tokens_field") {
            guard field == "max_tokens" || field == "max_completion_tokens" else {
                throw ModelError(.notConfigured, "\(path).max_tokens_field must be \"max_tokens\" or \"max_completion_tokens\"")
            }
            settings.maxTokensField = field
        }
        return settings
    }

    private static func route(_ json: JSONValue, at path: String) throws -> ModelRoute {
        guard let object = json.objectValue else { throw ModelError(.notConfigured, "\(path) must be an object") }
        try checkKeys(object, allowed: ["match", "provider", "upstream_model", "strip_prefix", "context_window", "compaction_threshold", "price"], at: path)
        guard let match = try string(object["match"], at: "\(path).match"), !match.isEmpty else {
            throw ModelError(.notConfigured, "\(path).match is required")
        }
        guard let provider = try string(object["provider"], at: "\(path).provider") else {
            throw ModelError(.notConfigured, "\(path).provider is required")
        }
        var stripPrefix = false
        if let value = object["strip_prefix"] {
            guard let flag = value.boolValue else { throw ModelError(.notConfigured, "\(path).strip_prefix must be a boolean") }
            stripPrefix = flag
        }
        var contextWindow: Int?
        if let value = object["context_window"] {
            guard let tokens = value.intValue, tokens >= 1024 else {
                throw ModelError(.notConfigured, "\(path).context_window must be an integer of at least 1024 (tokens)")
            }
            contextWindow = Int(tokens)
        }
        var threshold: Double?
        if let value = try number(object["compaction_threshold"], at: "\(path).compaction_threshold") {
            guard value >= 0.1, value <= 1 else {
                throw ModelError(.notConfigured, "\(path).compaction_threshold must be a share of the window between 0.1 and 1")
            }
            threshold = value
        }
        var price: ModelPrice?
        if let value = object["price"] {
            guard let entry = value.objectValue else { throw ModelError(.notConfigured, "\(path).price must be an object") }
            try checkKeys(entry, allowed: ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok"], at: "\(path).price")
            guard let input = try number(entry["input_per_mtok"], at: "\(path).price.input_per_mtok"),
                let output = try number(entry["output_per_mtok"], at: "\(path).price.output_per_mtok")
            else { throw ModelError(.notConfigured, "\(path).price needs input_per_mtok and output_per_mtok (US dollars per million tokens)") }
            price = ModelPrice(
                inputPerMillion: input, outputPerMillion: output, cacheReadPerMillion: try number(entry["cache_read_per_mtok"], at: "\(path).price.cache_read_per_mtok"),
                cacheWritePerMillion: try number(entry["cache_write_per_mtok"], at: "\(path).price.cache_write_per_mtok"))
        }
        return ModelRoute(
            match: match, provider: provider, upstreamModel: try string(object["upstream_model"], at: "\(path).upstream_model"), stripPrefix: stripPrefix,
            contextWindow: contextWindow, compactionThreshold: threshold, price: price)
    }

    private static func retryPolicy(_ json: JSONValue?, at path: String, base: RetryPolicy) throws -> RetryPolicy {
        guard let json else { return base }
        guard let object = json.objectValue else { throw ModelError(.notConfigured, "\(path) must be an object") }
        try checkKeys(object, allowed: ["max_attempts", "base_delay_ms", "max_delay_ms", "max_retry_after_ms"], at: path)
        var policy = base
        if let value = object["max_attempts"] {
            guard let number = value.intValue, number >= 1 else { throw ModelError(.notConfigured, "\(path).max_attempts must be an integer ≥ 1") }
            policy.maxAttempts = Int(number)
        }
        if let delay = try milliseconds(object["base_delay_ms"], at: "\(path).base_delay_ms") { policy.baseDelay = delay }
        if let delay = try milliseconds(object["max_delay_ms"], at: "\(path).max_delay_ms") { policy.maxDelay = delay }
        if let delay = try milliseconds(object["max_retry_after_ms"], at: "\(path).max_retry_after_ms") { policy.maxRetryAfter = delay }
        return policy
    }

    private static func checkKeys(_ object: [String: JSONValue], allowed: Set<String>, at path: String) throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ModelError(.notConfigured, "\(path.isEmpty ? "" : "\(path).")\(unknown) is not a known setting")
        }
    }

    private static func string(_ json: JSONValue?, at path: String) throws -> String? {
        guard let json else { return nil }
        guard let text = json.stringValue else { throw ModelError(.notConfigured, "\(path) must be a string") }
        return text
    }

    private static func number(_ json: JSONValue?, at path: String) throws -> Double? {
        switch json {
        case nil: return nil
        case .int(let value)? where value >= 0: return Double(value)
        case .double(let value)? where value >= 0: return value
        default: throw ModelError(.notConfigured, "\(path) must be a non-negative number")
        }
    }

    private static func seconds(_ json: JSONValue?, at path: String) throws -> Duration? {
        guard let value = try number(json, at: path) else { return nil }
        guard value > 0 else { throw ModelError(.notConfigured, "\(path) must be positive") }
        return .seconds(value)
    }

    private static func milliseconds(_ json: JSONValue?, at path: String) throws -> Duration? {
        try number(json, at: path).map { .milliseconds($0) }
    }
}
