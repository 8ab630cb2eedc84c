import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

@Suite("Model providers over HTTP against the mock server", .timeLimit(.minutes(3)))
struct ModelProvidersTests {
    // MARK: Anthropic

    @Test func anthropicStreamsTextAndCountsUsage() async throws {
        let scenario = MockScenario(rules: [
            MockRule(
                name: "greeting", lastUserContains: "hello",
                MockStep(reply: [.text("Hello there! The streaming reply arrives in several pieces.")], usage: MockUsage(inputTokens: 42, outputTokens: 17, cacheReadInputTokens: 5)))
        ])
        try await withMockLLM(scenario) { server, http in
            let log = EventLog()
            let response = try await server.anthropic(http).complete(
                ModelRequest(model: "claude-test", system: "Be brief.", messages: [.user("hello")])
            ) { await log.append($0) }
            #expect(response.content == [.text("Hello there! The streaming reply arrives in several pieces.")])
            #expect(response.stopReason == .endTurn)
            #expect(response.usage == TokenUsage(inputTokens: 42, outputTokens: 17, cacheReadInputTokens: 5))
            #expect(response.model == "claude-test")
            #expect(await log.text == "Hello there! The streaming reply arrives in several pieces.")
            #expect(await log.textDeltaCount > 1)

            let requests = await server.requests()
            #expect(requests.count == 1)
            let request = try #require(requests.first)
            #expect(request.path == "/v1/messages")
            #expect(request.rule == "greeting")
            #expect(request.headers["anthropic-version"] == "2023-06-01")
            #expect(request.headers["x-api-key"] == "test-key")
            #expect(request.body["stream"] == true)
            #expect(request.body["system"] == "Be brief.")
            #expect(request.body["max_tokens"] == 4096)
            #expect(request.body["messages"] == [["role": "user", "content": [["type": "text", "text": "hello"]]]])
        }
    }

    @Test func anthropicNonStreamingReply() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("plain")], usage: MockUsage(inputTokens: 3, outputTokens: 1)))])
        try await withMockLLM(scenario) { server, http in
            let log = EventLog()
            let response = try await server.anthropic(http, streaming: false).complete(ModelRequest(model: "m", messages: [.user("hi")])) {
                await log.append($0)
            }
            #expect(response.content == [.text("plain")])
            #expect(response.usage == TokenUsage(inputTokens: 3, outputTokens: 1))
            #expect(await log.events.isEmpty)
            let request = try #require(await server.requests().first)
            #expect(request.body["stream"] == Optional<JSONValue>.none)
        }
    }

    @Test func anthropicToolCallRoundTrip() async throws {
        let scenario = try scenario(
            """
            {"rules": [
              {"name": "call", "last_user_contains": "weather in Oslo",
               "reply": [{"type": "thinking", "thinking": "I should look it up.", "signature": "sig-1"},
                         {"type": "text", "text": "Let me check."},
                         {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo", "units": ["c", 1.5, null]}}]},
              {"name": "answer", "last_user_contains": "-3 degrees", "reply": "It is -3 °C in Oslo."}
            ]}
            """)
        try await withMockLLM(scenario) { server, http in
            let provider = server.anthropic(http)
            let log = EventLog()
            var request = ModelRequest(model: "claude-test", messages: [.user("What is the weather in Oslo?")], tools: [weatherTool])
            let first = try await provider.complete(request) { await log.append($0) }
            #expect(first.stopReason == .toolUse)
            #expect(
                first.content == [
                    .thinking(text: "I should look it up.", signature: "sig-1"), .text("Let me check."),
                    .toolUse(id: "toolu_1", name: "get_weather", input: ["city": "Oslo", "units": ["c", 1.5, nil]]),
                ])
            #expect(await log.events.first == .thinkingStarted(index: 0))
            #expect(await log.text == "Let me check.")
            #expect(await log.events.contains(.textDelta(index: 1, text: "Let me check.")))

            request.messages.append(ModelMessage(role: .assistant, content: first.content))
            request.messages.append(
                ModelMessage(role: .user, content: [.toolResult(toolUseID: "toolu_1", content: [.text("-3 degrees, snow")], isError: false)]))
            let second = try await provider.complete(request)
            #expect(second.content == [.text("It is -3 °C in Oslo.")])
            #expect(second.stopReason == .endTurn)

            let recorded = await server.requests()
            #expect(recorded.map(\.rule) == ["call", "answer"])
            let body = recorded[1].body
            #expect(body["tools"] == [["name": "get_weather", "description": "Current weather for a city.", "input_schema": weatherTool.inputSchema]])
            let messages = try #require(body["messages"]?.arrayValue)
            #expect(messages.count == 3)
            #expect(
                messages[1]["content"] == [
                    ["type": "thinking", "thinking": "I should look it up.", "signature": "sig-1"], ["type": "text", "text": "Let me check."],
                    ["type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": ["city": "Oslo", "units": ["c", 1.5, nil]]],
                ])
            #expect(messages[2]["content"] == [["type": "tool_result", "tool_use_id": "toolu_1", "content": [["type": "text", "text": "-3 degrees, snow"]]]])
        }
    }

    @Test func anthropicErrorsAreClassified() async throws {
        let scenario = MockScenario(rules: [
            MockRule(lastUserContains: "bad", MockStep(failWith: 400, errorMessage: "messages: too short")),
            MockRule(lastUserContains: "auth", .failure(401)),
            MockRule(lastUserContains: "busy", .failure(529)),
        ])
        try await withMockLLM(scenario) { server, http in
            let provider = server.anthropic(http)
            let bad = await #expect(throws: ModelError.self) { try await provider.complete(ModelRequest(model: "m", messages: [.user("bad")])) }
            #expect(bad?.kind == .invalidRequest)
            #expect(bad?.statusCode == 400)
            #expect(bad?.message == "messages: too short")
            #expect(bad?.isRetryable == false)
            let auth = await #expect(throws: ModelError.self) { try await provider.complete(ModelRequest(model: "m", messages: [.user("auth")])) }
            #expect(auth?.kind == .authentication)
            let busy = await #expect(throws: ModelError.self) { try await provider.complete(ModelRequest(model: "m", messages: [.user("busy")])) }
            #expect(busy?.kind == .overloaded)
            #expect(busy?.isRetryable == true)
        }
    }

    @Test func anthropicRejectsToolResultWithoutCall() async throws {
        try await withMockLLM { server, http in
            let request = ModelRequest(
                model: "m", messages: [ModelMessage(role: .user, content: [.toolResult(toolUseID: "toolu_x", content: [.text("?")], isError: false)])])
            let error = await #expect(throws: ModelError.self) { try await server.anthropic(http).complete(request) }
            #expect(error?.kind == .invalidRequest)
            #expect(error?.message.contains("toolu_x") == true)
        }
    }

    @Test func anthropicStreamErrorEventIsClassified() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("partial answer that is long")], streamError: "overloaded_error"))])
        try await withMockLLM(scenario) { server, http in
            let log = EventLog()
            let error = await #expect(throws: ModelError.self) {
                try await server.anthropic(http).complete(ModelRequest(model: "m", messages: [.user("x")])) { await log.append($0) }
            }
            #expect(error?.kind == .overloaded)
            #expect(await log.textDeltaCount == 1)
        }
    }

    @Test func anthropicTruncatedStreamIsTruncated() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("this reply will be cut off early")], truncateStream: true))])
        try await withMockLLM(scenario) { server, http in
            let error = await #expect(throws: ModelError.self) {
                try await server.anthropic(http).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .truncated)
        }
    }

    // MARK: OpenAI-compatible

    @Test func openAITextReply() async throws {
        let scenario = MockScenario(rules: [
            MockRule(systemContains: "pirate", MockStep(reply: [.text("Arr, {{last_user}}!")], usage: MockUsage(inputTokens: 20, outputTokens: 4, cacheReadInputTokens: 6)))
        ])
        try await withMockLLM(scenario) { server, http in
            let response = try await server.openAI(http).complete(
                ModelRequest(model: "llama3", system: "Talk like a pirate.", messages: [.user("ahoy")], maxTokens: 100, temperature: 0.5))
            #expect(response.content == [.text("Arr, ahoy!")])
            #expect(response.stopReason == .endTurn)
            #expect(response.usage == TokenUsage(inputTokens: 20, outputTokens: 4, cacheReadInputTokens: 6))
            #expect(response.model == "llama3")
            let request = try #require(await server.requests().first)
            #expect(request.path == "/v1/chat/completions")
            #expect(request.headers["authorization"] == "Bearer sk-test")
            #expect(request.body["max_tokens"] == 100)
            #expect(request.body["temperature"] == 0.5)
            #expect(request.body["messages"] == [["role": "system", "content": "Talk like a pirate."], ["role": "user", "content": "ahoy"]])
        }
    }

    @Test func openAIToolCallsAndResultsMapping() async throws {
        let scenario = try scenario(
            """
            {"rules": [
              {"name": "call", "api": "openai", "has_tool": "get_weather", "last_user_contains": "Oslo",
               "reply": [{"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Oslo"}},
                         {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Bergen"}}]},
              {"name": "answer", "last_user_regex": "-3 .*\\\\n.*rain", "reply": "Cold in Oslo, wet in Bergen."}
            ]}
            """)
        try await withMockLLM(scenario) { server, http in
            let provider = server.openAI(http)
            var request = ModelRequest(model: "qwen", messages: [.user("Weather in Oslo and Bergen?")], tools: [weatherTool])
            let first = try await provider.complete(request)
            #expect(first.stopReason == .toolUse)
            #expect(
                first.content == [
                    .toolUse(id: "call_a", name: "get_weather", input: ["city": "Oslo"]), .toolUse(id: "call_b", name: "get_weather", input: ["city": "Bergen"]),
                ])
            request.messages.append(ModelMessage(role: .assistant, content: first.content))
            request.messages.append(
                ModelMessage(role: .user, content: [
                    .toolResult(toolUseID: "call_a", content: [.text("-3 degrees")], isError: false),
                    .toolResult(toolUseID: "call_b", content: [.text("rain")], isError: true),
                    .text("Summarise."),
                ]))
            let second = try await provider.complete(request)
            #expect(second.content == [.text("Cold in Oslo, wet in Bergen.")])

            let recorded = await server.requests()
            #expect(recorded.map(\.rule) == ["call", "answer"])
            #expect(
                recorded[0].body["tools"] == [
                    ["type": "function", "function": ["name": "get_weather", "description": "Current weather for a city.", "parameters": weatherTool.inputSchema]]
                ])
            let messages = try #require(recorded[1].body["messages"]?.arrayValue)
            #expect(
                messages == [
                    ["role": "user", "content": "Weather in Oslo and Bergen?"],
                    [
                        "role": "assistant", "content": nil,
                        "tool_calls": [
                            ["id": "call_a", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Oslo"}"#]],
                            ["id": "call_b", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Bergen"}"#]],
                        ],
                    ],
                    ["role": "tool", "tool_call_id": "call_a", "content": "-3 degrees"],
                    ["role": "tool", "tool_call_id": "call_b", "content": "Error: rain"],
                    ["role": "user", "content": "Summarise."],
                ])
        }
    }

    @Test func openAIStreamingDeltasAndToolCalls() async throws {
        let scenario = MockScenario(rules: [
            MockRule(
                MockStep(
                    reply: [.thinking("Pondering the request.", signature: nil), .text("Calling a tool for you now."), .toolUse(name: "get_weather", input: ["city": "Rome"], id: "call_r")],
                    usage: MockUsage(inputTokens: 9, outputTokens: 12)))
        ])
        try await withMockLLM(scenario) { server, http in
            let log = EventLog()
            let response = try await server.openAI(http, streaming: true).complete(ModelRequest(model: "m", messages: [.user("go")], tools: [weatherTool])) {
                await log.append($0)
            }
            #expect(
                response.content == [
                    .thinking(text: "Pondering the request.", signature: nil), .text("Calling a tool for you now."),
                    .toolUse(id: "call_r", name: "get_weather", input: ["city": "Rome"]),
                ])
            #expect(response.stopReason == .toolUse)
            #expect(response.usage == TokenUsage(inputTokens: 9, outputTokens: 12))
            #expect(await log.text == "Calling a tool for you now.")
            #expect(await log.textDeltaCount > 1)
            #expect(await log.events.first == .thinkingStarted(index: 0))
            let request = try #require(await server.requests().first)
            #expect(request.body["stream"] == true)
            #expect(request.body["stream_options"] == ["include_usage": true])
        }
    }

    @Test func openAITruncatedStreamIsTruncated() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("cut short by the mock server")], truncateStream: true))])
        try await withMockLLM(scenario) { server, http in
            let error = await #expect(throws: ModelError.self) {
                try await server.openAI(http, streaming: true).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .truncated)
        }
    }

    @Test func openAITruncatedBodyIsRetryable() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text(String(repeating: "long reply ", count: 200))], truncateStream: true))])
        try await withMockLLM(scenario) { server, http in
            let error = await #expect(throws: ModelError.self) {
                try await server.openAI(http).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.isRetryable == true)
        }
    }

    @Test func openAIErrorsAreClassified() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(failWith: 429, retryAfter: 7))])
        try await withMockLLM(scenario) { server, http in
            let error = await #expect(throws: ModelError.self) { try await server.openAI(http).complete(ModelRequest(model: "m", messages: [.user("x")])) }
            #expect(error?.kind == .rateLimited)
            #expect(error?.retryAfter == 7)
        }
    }

    @Test func connectionRefusedIsConnectionError() async throws {
        let server = MockLLMServer()
        let port = try await server.start()
        await server.stop()
        let http = ModelHTTPClient()
        let provider = AnthropicProvider(configuration: AnthropicConfiguration(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(5)), http: http)
        let error = await #expect(throws: ModelError.self) { try await provider.complete(ModelRequest(model: "m", messages: [.user("x")])) }
        #expect(error?.kind == .connection)
        try await http.shutdown()
    }

    @Test func slowReplyTimesOut() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("late")], latencyMs: 2_000))])
        try await withMockLLM(scenario) { server, http in
            // The reply would come after 2 s; a timeout error (not a reply) shows the 200 ms limit fired.
            let error = await #expect(throws: ModelError.self) {
                try await server.anthropic(http, timeout: .milliseconds(200)).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .timeout)
        }
    }

    @Test func slowStreamTimesOutMidStream() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text(String(repeating: "word ", count: 400))], chunkDelayMs: 250))])
        try await withMockLLM(scenario) { server, http in
            let log = EventLog()
            let error = await #expect(throws: ModelError.self) {
                // The whole stream takes about 30 s; the first deltas come within the first second.
                try await server.anthropic(http, timeout: .seconds(8)).complete(ModelRequest(model: "m", messages: [.user("x")])) {
                    await log.append($0)
                }
            }
            #expect(error?.kind == .timeout)
            #expect(await log.textDeltaCount >= 1)
        }
    }
}
