import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

@Suite("Model catalog: configuration and routing", .timeLimit(.minutes(3)))
struct ModelCatalogTests {
    @Test func defaultsSendEverythingToAnthropic() async throws {
        let configuration = try ModelCatalogConfiguration.fromEnvironment(["ANTHROPIC_API_KEY": "k"])
        let catalog = ModelCatalog(configuration: configuration)
        try await run({ () async throws in
            let resolved = try catalog.resolve("claude-sonnet-4-5")
            #expect(resolved.providerName == "anthropic")
            #expect(resolved.kind == .anthropic)
            #expect(resolved.upstreamModel == "claude-sonnet-4-5")
            #expect(configuration.providers["anthropic"]?.baseURL == "https://api.anthropic.com")
            #expect(configuration.providers["openai"] == nil)
            #expect(try catalog.resolve("anthropic/claude-x").upstreamModel == "claude-x")
        }, thenStop: { try? await catalog.shutdown() })
    }

    @Test func missingAnthropicKeyIsNotConfigured() async throws {
        let catalog = ModelCatalog(configuration: try ModelCatalogConfiguration.fromEnvironment([:]))
        try await run({ () async throws in
            #expect(throws: ModelError(.notConfigured, "model 'claude-x' needs provider 'anthropic': ANTHROPIC_API_KEY is not set")) {
                try catalog.resolve("claude-x")
            }
            // A self-hosted Anthropic-compatible server does not need a key.
            let local = try ModelCatalogConfiguration.fromEnvironment(["ANTHROPIC_BASE_URL": "http://127.0.0.1:9000"])
            #expect(local.providers["anthropic"]?.unavailableReason == nil)
        }, thenStop: { try? await catalog.shutdown() })
    }

    @Test func openAIFromEnvironment() async throws {
        let environment = ["OPENAI_BASE_URL": "http://localhost:11434/v1", "OPENAI_API_KEY": "ollama", "REVERIE_DEFAULT_PROVIDER": "openai"]
        let catalog = ModelCatalog(configuration: try ModelCatalogConfiguration.fromEnvironment(environment))
        try await run({ () async throws in
            let resolved = try catalog.resolve("llama3.1:8b")
            #expect(resolved.kind == .openai)
            #expect(catalog.configuration.providers["openai"]?.baseURL == "http://localhost:11434/v1")
            #expect(catalog.configuration.providers["openai"]?.apiKey == "ollama")
            #expect(try catalog.resolve("openai/qwen").upstreamModel == "qwen")
        }, thenStop: { try? await catalog.shutdown() })
    }

    @Test func configurationFileRoutesAndSettings() async throws {
        let json = """
            {
              "timeout_seconds": 120,
              "retry": {"max_attempts": 3, "base_delay_ms": 250, "max_delay_ms": 8000},
              "max_connections_per_host": 64,
              "providers": {
                "local": {"type": "openai", "base_url": "http://127.0.0.1:8000/v1", "api_key_env": "LOCAL_KEY", "streaming": true,
                          "timeout_seconds": 30, "retry": {"max_attempts": 6}, "max_tokens_field": "max_completion_tokens"},
                "claude": {"type": "anthropic", "base_url": "https://proxy.example", "api_key_env": "PROXY_KEY", "betas": ["b1"], "headers": {"x-org": "o"}}
              },
              "models": [
                {"match": "fast", "provider": "local", "upstream_model": "Qwen/Qwen2.5-7B-Instruct"},
                {"match": "vllm/*", "provider": "local", "strip_prefix": true},
                {"match": "claude-*", "provider": "claude"}
              ]
            }
            """
        let configuration = try ModelCatalogConfiguration.parse(json: Data(json.utf8), environment: ["LOCAL_KEY": "secret"])
        #expect(configuration.maxConnectionsPerHost == 64)
        let local = try #require(configuration.providers["local"])
        #expect(local.kind == .openai)
        #expect(local.apiKey == "secret")
        #expect(local.timeout == .seconds(30))
        #expect(local.streaming == true)
        #expect(local.maxTokensField == "max_completion_tokens")
        #expect(local.retry == RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(250), maxDelay: .seconds(8)))
        let claude = try #require(configuration.providers["claude"])
        #expect(claude.timeout == .seconds(120))
        #expect(claude.retry.maxAttempts == 3)
        #expect(claude.betas == ["b1"])
        #expect(claude.headers == ["x-org": "o"])
        #expect(claude.unavailableReason == "PROXY_KEY (the API key of provider providers.claude) is not set")

        let catalog = ModelCatalog(configuration: configuration)
        try await run({ () async throws in
            #expect(try catalog.resolve("fast").upstreamModel == "Qwen/Qwen2.5-7B-Instruct")
            #expect(try catalog.resolve("vllm/meta-llama/Llama-3-8B").upstreamModel == "meta-llama/Llama-3-8B")
            #expect(try catalog.resolve("vllm/x").retryPolicy.maxAttempts == 6)
            #expect(throws: ModelError.self) { try catalog.resolve("claude-opus") }
            // With a models list, unlisted models are not configured (no implicit catch-all).
            #expect(throws: ModelError(.notConfigured, "no model provider is configured for model 'gpt-4o'")) { try catalog.resolve("gpt-4o") }
        }, thenStop: { try? await catalog.shutdown() })
    }

    @Test func configurationErrorsNameTheSetting() {
        func parse(_ json: String) throws { _ = try ModelCatalogConfiguration.parse(json: Data(json.utf8), environment: [:]) }
        #expect(throws: ModelError(.notConfigured, "providers.x.type must be \"anthropic\" or \"openai\"")) {
            try parse(#"{"providers": {"x": {"type": "gemini"}}}"#)
        }
        #expect(throws: ModelError(.notConfigured, "models[0].provider: no provider named 'nope'")) {
            try parse(#"{"models": [{"match": "*", "provider": "nope"}]}"#)
        }
        #expect(throws: ModelError(.notConfigured, "retry.max_attempts must be an integer ≥ 1")) { try parse(#"{"retry": {"max_attempts": 0}}"#) }
        #expect(throws: ModelError(.notConfigured, "timeout_second is not a known setting")) { try parse(#"{"timeout_second": 5}"#) }
    }

    @Test func configurationFileFromEnvironmentPath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("reverie-models-\(UUID().uuidString).json")
        try Data(#"{"models": [{"match": "*", "provider": "anthropic", "upstream_model": "pinned"}]}"#.utf8).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let configuration = try ModelCatalogConfiguration.fromEnvironment(["REVERIE_MODELS": path.path, "ANTHROPIC_API_KEY": "k"])
        #expect(configuration.routes == [ModelRoute(match: "*", provider: "anthropic", upstreamModel: "pinned")])
        let missing = #expect(throws: ModelError.self) { try ModelCatalogConfiguration.fromEnvironment(["REVERIE_MODELS": "/nonexistent/models.json"]) }
        #expect(missing?.kind == .notConfigured)
    }

    @Test func catalogProviderCallsTheMockWithTheUpstreamName() async throws {
        let scenario = MockScenario(rules: [
            MockRule(model: "upstream-anthropic", .text("from anthropic route")), MockRule(model: "upstream-openai", .text("from openai route")),
        ])
        try await withMockLLM(scenario) { server, http in
            let base = try #require(server.baseURL)
            let json = """
                {"providers": {
                   "mock-a": {"type": "anthropic", "base_url": "\(base)", "api_key": "a-key"},
                   "mock-o": {"type": "openai", "base_url": "\(base)/v1", "api_key": "o-key"}},
                 "models": [
                   {"match": "agent-a", "provider": "mock-a", "upstream_model": "upstream-anthropic"},
                   {"match": "agent-o", "provider": "mock-o", "upstream_model": "upstream-openai"}]}
                """
            let catalog = ModelCatalog(configuration: try ModelCatalogConfiguration.parse(json: Data(json.utf8), environment: [:]), http: http)
            let fromA = try await catalog.provider(for: "agent-a").complete(ModelRequest(model: "agent-a", messages: [.user("hi")]))
            #expect(fromA.content == [.text("from anthropic route")])
            let fromO = try await catalog.provider(for: "agent-o").complete(ModelRequest(model: "agent-o", messages: [.user("hi")]))
            #expect(fromO.content == [.text("from openai route")])
            let requests = await server.requests()
            #expect(requests.map(\.path) == ["/v1/messages", "/v1/chat/completions"])
            #expect(requests.map { $0.body["model"] } == ["upstream-anthropic", "upstream-openai"])
            #expect(requests[0].headers["x-api-key"] == "a-key")
            #expect(requests[1].headers["authorization"] == "Bearer o-key")
            try await catalog.shutdown()  // does not close a client it did not create
            _ = try await catalog.provider(for: "agent-a").complete(ModelRequest(model: "agent-a", messages: [.user("again")]))
        }
    }
}
