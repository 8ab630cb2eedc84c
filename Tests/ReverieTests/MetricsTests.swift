import Foundation
import ReverieCore
import ReverieMockLLM
import Testing

/// `/metrics`: what operators scrape.
@Suite(.timeLimit(.minutes(3))) struct MetricsTests {
    @Test func aSessionWithAToolCallMovesTheCounters() async throws {
        let scenario = MockScenario(rules: [
            MockRule(lastUserContains: "hello", MockStep(reply: [.toolUse(name: "bash", input: ["command": "echo hi"])])),
            MockRule(lastUserContains: "hi", MockStep.text("It said hi.")),
        ])
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            #expect(try await server.request(.GET, "/metrics", headers: []).status == 401, "metrics need a key")
            let before = try await server.get("/metrics").text
            #expect(!before.contains("reverie_tool_calls_total"))

            let (agent, environment) = try await server.makeAgentAndEnvironment(tools: [["type": "agent_toolset_20260401"]])
            let session = try #require(try await server.post("/v1/sessions", [
                "agent": .string(agent), "environment_id": .string(environment),
                "initial_events": [["type": "user.message", "content": [["type": "text", "text": "hello"]]]],
            ]).json["id"]?.stringValue)
            _ = try await server.waitForIdle(session)

            let reply = try await server.get("/metrics")
            #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/plain") == true)
            let text = reply.text
            func value(_ line: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            #expect(value(#"reverie_tool_calls_total{tool="bash",result="ok"}"#) == 1, "\(text)")
            #expect(value(#"reverie_model_calls_total{provider="mock",model="mock-model",result="ok"}"#) == 2)
            #expect((value(#"reverie_model_tokens_total{provider="mock",model="mock-model",direction="input"}"#) ?? 0) > 0)
            #expect(value(#"reverie_sessions{status="idle"}"#) == 1)
            #expect(value(#"reverie_stream_subscribers"#) == 0)
            #expect(text.contains(#"reverie_http_requests_total{method="POST",route="/v1/sessions",status="200"} 1"#))
            #expect(text.contains(#"reverie_tool_call_duration_seconds_count{tool="bash"} 1"#))
        }
    }
}
