import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

@Suite("Mock model server: scenarios, recording, control endpoints", .timeLimit(.minutes(3)))
struct MockLLMScenarioTests {
    func ask(_ provider: some ModelProvider, _ text: String, system: String? = nil, model: String = "m") async throws -> String {
        let response = try await provider.complete(ModelRequest(model: model, system: system, messages: [.user(text)]))
        return response.content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
    }

    @Test func rulesMatchInOrderOnSystemUserAndModel() async throws {
        let scenario = try scenario(
            """
            {"defaults": {"model": "mock-1"},
             "fallback": {"reply": "fallback"},
             "rules": [
               {"name": "grader", "system_contains": "You are a grader", "reply": "graded"},
               {"name": "regex", "system_regex": "^Agent [0-9]+$", "last_user_regex": "(?i)deploy", "reply": "deploying"},
               {"name": "model", "model": "special", "reply": "special model"},
               {"name": "user", "last_user_contains": "ping", "reply": "pong"}
             ]}
            """)
        try await withMockLLM(scenario) { server, http in
            let provider = server.anthropic(http)
            #expect(try await ask(provider, "ping", system: "You are a grader. Judge.") == "graded")
            #expect(try await ask(provider, "please DEPLOY it", system: "Agent 7") == "deploying")
            #expect(try await ask(provider, "please deploy it", system: "Agent seven") == "fallback")
            #expect(try await ask(provider, "hi", model: "special") == "special model")
            #expect(try await ask(provider, "ping") == "pong")
            #expect(try await ask(provider, "nothing") == "fallback")
            let response = try await provider.complete(ModelRequest(model: "m", messages: [.user("ping")]))
            #expect(response.model == "mock-1")
            #expect(await server.requests().map(\.rule) == ["grader", "regex", "fallback", "model", "user", "fallback", "user"])
        }
    }

    @Test func lastUserTextIncludesToolResults() async throws {
        let scenario = MockScenario(rules: [MockRule(lastUserContains: "exit code 0", .text("tests pass"))])
        try await withMockLLM(scenario) { server, http in
            let request = ModelRequest(
                model: "m",
                messages: [
                    .user("run tests"), ModelMessage(role: .assistant, content: [.toolUse(id: "t1", name: "bash", input: ["command": "swift test"])]),
                    ModelMessage(role: .user, content: [.toolResult(toolUseID: "t1", content: [.text("exit code 0")], isError: false)]),
                ])
            let fromAnthropic = try await server.anthropic(http).complete(request)
            let fromOpenAI = try await server.openAI(http).complete(request)
            #expect(fromAnthropic.content == [.text("tests pass")])
            #expect(fromOpenAI.content == [.text("tests pass")])
        }
    }

    @Test func repliesCanQuoteAndCaptureFromTheRequest() async throws {
        let scenario = MockScenario(rules: [
            MockRule(MockStep(reply: [
                .text("ref={{match:(e[0-9]+) USER FOLLOW-UP}} whole={{match:S[0-9]}} none=[{{match:zzz}}] echo={{last_user}}"),
                .toolUse(name: "record", input: ["evidence": [["events": ["{{match:(e[0-9]+) USER FOLLOW-UP}}"]]]], id: "t1"),
            ])),
        ])
        try await withMockLLM(scenario) { server, http in
            let text = "## Session S2\ne1 USER: hi\ne7 USER FOLLOW-UP (may correct the agent): no"
            for provider in [server.anthropic(http), server.openAI(http)] as [any ModelProvider] {
                let response = try await provider.complete(ModelRequest(model: "m", messages: [.user(text)]))
                #expect(response.content.first == .text("ref=e7 whole=S2 none=[] echo=\(text)"))
                guard case .toolUse(_, "record", let input) = response.content.last else {
                    Issue.record("no tool call in \(response.content)")
                    continue
                }
                #expect(input == ["evidence": [["events": ["e7"]]]])
            }
        }
    }

    @Test func timesFallsThroughAndSequenceAdvances() async throws {
        let scenario = try scenario(
            """
            {"rules": [
               {"name": "once", "last_user_contains": "a", "times": 1, "reply": "first"},
               {"name": "seq", "last_user_contains": "a", "sequence": [
                  {"reply": "second"}, {"fail_with": 500}, {"reply": "last"}]}
             ]}
            """)
        try await withMockLLM(scenario) { server, http in
            let provider = server.openAI(http)
            let first = try await ask(provider, "a")
            let second = try await ask(provider, "a")
            #expect([first, second] == ["first", "second"])
            let error = await #expect(throws: ModelError.self) { try await ask(provider, "a") }
            #expect(error?.kind == .serverError)
            let third = try await ask(provider, "a")
            let fourth = try await ask(provider, "a")
            #expect([third, fourth] == ["last", "last"])
            #expect(await server.requests().map(\.rule) == ["once", "seq", "seq", "seq", "seq"])

            // A new scenario resets the counts.
            await server.setScenario(scenario)
            let afterReset = try await ask(provider, "a")
            #expect(afterReset == "first")
        }
    }

    @Test func stopReasonAndUsageDefaults() async throws {
        let scenario = MockScenario(rules: [
            MockRule(lastUserContains: "tool", MockStep(reply: [.toolUse(name: "bash", input: ["command": "ls"])])),
            MockRule(lastUserContains: "long", MockStep(reply: [.text("truncated answer")], stopReason: "max_tokens")),
        ])
        try await withMockLLM(scenario) { server, http in
            let tool = try await server.anthropic(http).complete(ModelRequest(model: "m", messages: [.user("tool please")]))
            #expect(tool.stopReason == .toolUse)
            guard case .toolUse(let id, "bash", ["command": "ls"]) = tool.content.first else {
                Issue.record("expected a bash tool call, got \(tool.content)")
                return
            }
            #expect(id.hasPrefix("toolu_mock_"))
            #expect(tool.usage.inputTokens > 0 && tool.usage.outputTokens > 0)
            let openAITool = try await server.openAI(http).complete(ModelRequest(model: "m", messages: [.user("tool please")]))
            #expect(openAITool.stopReason == .toolUse)
            let long = try await server.openAI(http).complete(ModelRequest(model: "m", messages: [.user("long")]))
            #expect(long.stopReason == .maxTokens)
        }
    }

    @Test func scenarioFileErrorsNameTheField() throws {
        #expect(throws: MockScenarioError("rules[0].last_user_contians is not a known setting")) {
            try scenario(#"{"rules": [{"last_user_contians": "x", "reply": "y"}]}"#)
        }
        #expect(throws: MockScenarioError("rules[0].reply[0].type must be \"text\", \"thinking\" or \"tool_use\"")) {
            try scenario(#"{"rules": [{"reply": [{"type": "image"}]}]}"#)
        }
        #expect(throws: MockScenarioError("rules[1].fail_with must be an HTTP error status (400–599)")) {
            try scenario(#"{"rules": [{"reply": "ok"}, {"fail_with": 200}]}"#)
        }
        #expect(throws: MockScenarioError.self) { try scenario(#"{"rules": [{"system_regex": "([", "reply": "y"}]}"#) }
        #expect(throws: MockScenarioError("rules[0].reply: put reply settings inside the sequence's steps")) {
            try scenario(#"{"rules": [{"reply": "x", "sequence": [{"reply": "y"}]}]}"#)
        }
    }

    @Test func controlEndpointsRecordClearAndReplace() async throws {
        try await withMockLLM { server, http in
            let base = try #require(server.baseURL)
            let provider = server.anthropic(http)
            #expect(try await ask(provider, "one") == "This is the mock model.")

            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            defer { _ = client.shutdown() }
            func call(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> (Int, JSONValue) {
                var request = HTTPClientRequest(url: base + path)
                request.method = method
                if let body { request.body = .bytes(ByteBuffer(string: body)) }
                let response = try await client.execute(request, timeout: .seconds(5))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                let json = bytes.readableBytes == 0 ? JSONValue.null : try JSONCoding.decode(JSONValue.self, from: Data(bytes.readableBytesView))
                return (Int(response.status.code), json)
            }

            let (status, listed) = try await call(.GET, "/_mock/requests")
            #expect(status == 200)
            let recorded = try #require(listed["data"]?.arrayValue)
            #expect(recorded.count == 1)
            #expect(recorded.first?["path"] == "/v1/messages")
            #expect(recorded.first?["method"] == "POST")
            #expect(recorded.first?["headers"]?["anthropic-version"] == "2023-06-01")
            #expect(recorded.first?["body"]?["messages"]?.arrayValue?.count == 1)
            #expect(recorded.first?["received_at"]?.stringValue != nil)

            #expect(try await call(.DELETE, "/_mock/requests").0 == 204)
            #expect(await server.requests().isEmpty)

            let (bad, badBody) = try await call(.PUT, "/_mock/scenario", body: #"{"rules": 3}"#)
            #expect(bad == 400)
            #expect(badBody["error"]?["message"] == "scenario.rules must be an array")
            let (ok, _) = try await call(.PUT, "/_mock/scenario", body: #"{"rules": [{"reply": "replaced"}]}"#)
            #expect(ok == 200)
            #expect(try await ask(provider, "two") == "replaced")
            #expect(await server.requests().count == 1)
        }
    }

    @Test func missingVersionHeaderIsRejectedLikeTheRealAPI() async throws {
        try await withMockLLM { server, _ in
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            defer { _ = client.shutdown() }
            var request = HTTPClientRequest(url: (server.baseURL ?? "") + "/v1/messages")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"model":"m","max_tokens":5,"messages":[]}"#))
            let response = try await client.execute(request, timeout: .seconds(5))
            #expect(response.status.code == 400)
            let bytes = try await response.body.collect(upTo: 1 << 16)
            let body = try JSONCoding.decode(JSONValue.self, from: Data(bytes.readableBytesView))
            #expect(body["error"]?["type"] == "invalid_request_error")
            #expect(await server.requests().first?.rule == nil)
        }
    }

    @Test func latencyIsConcurrentNotSerial() async throws {
        // 50 requests held at one gate: served one at a time, only one would ever be waiting.
        let scenario = MockScenario(fallback: MockStep(reply: [.text("ok")], hold: "all"))
        try await withMockLLM(scenario) { server, http in
            let provider = server.anthropic(http, timeout: .seconds(120))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask { _ = try await provider.complete(ModelRequest(model: "m", messages: [.user("n\(index)")])) }
                }
                #expect(await eventually { await server.held(at: "all") == 50 })
                await server.openGate("all")
                try await group.waitForAll()
            }
            #expect(await server.held(at: "all") == 0)
            #expect(await server.requests().count == 50)
        }
    }
}
