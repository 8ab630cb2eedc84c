import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// Model failures injected by the mock model server, interrupts, and restarts: the session
/// log records what happened and the session ends in the state the API defines.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RuntimeFailureTests {
    @Test func aRateLimitIsRetriedAndLoggedThenTheTurnCompletes() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "flaky", "last_user_contains": "hello", "fail_with": 429, "fail_times": 1,
                        "error_message": "slow down", "reply": "Hi after a retry."}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "hello")
            let events = try await server.waitForIdle(session)
            #expect(events.types == [
                "user.message", "session.status_running", "span.model_request_start", "session.error",
                "agent.message", "span.model_request_end", "session.status_idle",
            ])
            let error = try #require(events.ofType("session.error").first)
            #expect(error["error"]?["type"] == "model_rate_limited_error")
            #expect(error["error"]?["retry_status"] == ["type": "retrying"])
            #expect(error["error"]?["message"]?.stringValue?.contains("slow down") == true)
            #expect(error["error"]?["message"]?.stringValue?.contains("attempt 1 of 3") == true)
            #expect(events.ofType("agent.message").first?.contentText == "Hi after a retry.")
            #expect(events.ofType("span.model_request_end").first?["is_error"] == false)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            #expect(await harness.agentRequests().count == 2)
        }
    }

    @Test func persistentServerErrorsExhaustRetries() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "down", "fail_with": 500, "error_message": "boom", "reply": "never"}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "hello")
            let events = try await server.waitForIdle(session)
            #expect(await harness.agentRequests().count == 3, "max_attempts 3")
            let errors = events.ofType("session.error")
            #expect(errors.map { $0["error"]?["retry_status"]?["type"]?.stringValue } == ["retrying", "retrying", "exhausted"])
            #expect(errors.allSatisfy { $0["error"]?["type"] == "model_request_failed_error" })
            #expect(errors.last?["error"]?["message"]?.stringValue?.contains("boom") == true)
            let end = try #require(events.ofType("span.model_request_end").first)
            #expect(end["is_error"] == true)
            #expect(events.count(ofType: "agent.message") == 0)
            #expect(events.last?.eventType == "session.status_idle")
            #expect(events.last?["stop_reason"] == ["type": "retries_exhausted"])
            #expect(try await server.session(session)["status"] == "idle")

            // The session is not stuck: once the model recovers, the next message runs.
            await harness.mock.setScenario(try runtimeScenario(#"{"fallback": {"reply": "back again"}}"#))
            try await server.say(session, "hello again")
            let after = try await server.waitForIdle(session, count: 2)
            #expect(after.ofType("agent.message").last?.contentText == "back again")
            #expect(after.last?["stop_reason"] == ["type": "end_turn"])
        }
    }

    @Test func aRejectedRequestIsATerminalError() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "bad", "fail_with": 400, "error_message": "messages.0.content: Field required", "reply": "never"}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "hello")
            let events = try await server.waitForIdle(session)
            #expect(await harness.agentRequests().count == 1, "400 is not retried")
            let errors = events.ofType("session.error")
            #expect(errors.count == 1)
            #expect(errors.first?["error"]?["retry_status"] == ["type": "terminal"])
            #expect(errors.first?["error"]?["message"]?.stringValue?.contains("messages.0.content: Field required") == true)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
        }
    }

    @Test(arguments: ["truncate", "stream_error"])
    func aBrokenStreamIsRetriedAndCompletes(failure: String) async throws {
        let injection = failure == "truncate" ? #""truncate_stream": true"# : #""stream_error": "overloaded_error""#
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "cut", "last_user_contains": "story", \(injection), "fail_times": 1,
                        "reply": "Once upon a time, the whole story was told."}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "tell me a story")
            let events = try await server.waitForIdle(session)
            #expect(await harness.agentRequests().count == 2)
            let error = try #require(events.ofType("session.error").first)
            #expect(error["error"]?["retry_status"] == ["type": "retrying"])
            #expect(error["error"]?["type"] == (failure == "truncate" ? "model_request_failed_error" : "model_overloaded_error"))
            // Only the complete reply is recorded, once.
            #expect(events.ofType("agent.message").map(\.contentText) == ["Once upon a time, the whole story was told."])
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
        }
    }

    @Test func anInterruptStopsASlowModelCallPromptly() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "slow", "last_user_contains": "take your time", "times": 1, "hold": "never", "reply": "too late"}],
             "fallback": {"reply": "quick answer"}}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "take your time")
            try await server.waitForEvents(session, "model request start") { $0.count(ofType: "span.model_request_start") == 1 }
            // The model call is held for good: only the interrupt can end the turn.
            try await server.send(session, [["type": "user.interrupt"]])
            let events = try await server.waitForIdle(session, timeout: .seconds(60))
            #expect(events.types == [
                "user.message", "session.status_running", "span.model_request_start", "user.interrupt", "span.model_request_end",
                "session.status_idle",
            ])
            #expect(events.ofType("span.model_request_end").first?["is_error"] == true)
            // The SDK has no interrupt stop reason: an interrupted turn ends with end_turn.
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            #expect(events.count(ofType: "agent.message") == 0)

            // The session takes the next message normally.
            try await server.say(session, "now quickly")
            let after = try await server.waitForIdle(session, count: 2)
            #expect(after.ofType("agent.message").map(\.contentText) == ["quick answer"])
            let last = try #require(await harness.agentRequests().last)
            #expect(last.messages.map { $0["role"]?.stringValue ?? "" } == ["user"], "the interrupted call left nothing to send back")
            #expect(last.messages.first?.contentText.contains("take your time") == true)
            #expect(last.messages.first?.contentText.contains("now quickly") == true)
        }
    }

    @Test func aMessageSentWithAnInterruptStartsAFreshTurn() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "slow", "last_user_contains": "take your time", "times": 1, "hold": "never", "reply": "too late"}],
             "fallback": {"reply": "Answering the new message."}}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "take your time")
            try await server.waitForEvents(session, "model request start") { $0.count(ofType: "span.model_request_start") == 1 }
            // The interrupt stops the slow call; the message after it must still be answered.
            try await server.send(session, [["type": "user.interrupt"], userMessage("new question instead")])
            let events = try await server.waitForIdle(session, count: 2, timeout: .seconds(10))
            #expect(events.types == [
                "user.message", "session.status_running", "span.model_request_start", "user.interrupt", "user.message",
                "span.model_request_end", "session.status_idle",
                "session.status_running", "span.model_request_start", "agent.message", "span.model_request_end", "session.status_idle",
            ])
            #expect(events.ofType("agent.message").map(\.contentText) == ["Answering the new message."])
            let last = try #require(await harness.agentRequests().last)
            #expect(last.messages.last?.contentText.contains("new question instead") == true)
        }
    }

    @Test func anInterruptStopsARunningToolAndAnswersTheCall() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "sleepy", "last_user_contains": "wait a while",
                        "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "sleep 30"}}]}],
             "fallback": {"reply": "ok"}}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "wait a while")
            try await server.waitForEvents(session, "tool use") { $0.count(ofType: "agent.tool_use") == 1 }
            try await Task.sleep(for: .milliseconds(100))
            let sent = ContinuousClock.now
            try await server.send(session, [["type": "user.interrupt"]])
            let events = try await server.waitForIdle(session, timeout: .seconds(60))
            // Left alone, the command ends only at the bash tool's 30 s timeout.
            #expect(ContinuousClock.now - sent < .seconds(25), "the command was not stopped by the interrupt")
            let result = try #require(events.ofType("agent.tool_result").first)
            #expect(result["is_error"] == true)
            #expect(result["tool_use_id"] == events.ofType("agent.tool_use").first?["id"])
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            #expect(events.count(ofType: "span.model_request_start") == 1, "no model call after the interrupt")

            // The next turn sends a valid conversation (the call is answered).
            try await server.say(session, "continue")
            let after = try await server.waitForIdle(session, count: 2)
            #expect(after.ofType("agent.message").last?.contentText == "ok")
            let last = try #require(await harness.agentRequests().last)
            #expect(last.rule == "fallback")
        }
    }

    @Test func aRestartedServerResumesTheSessionMidTurn() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "first", "last_user_contains": "long job",
               "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "step1.txt", "content": "one"}}]},
              {"name": "stuck", "last_user_contains": "Created /workspace/step1.txt", "latency_ms": 20000, "reply": "never seen"}
            ]}
            """)
        var harness = try await RuntimeHarness.start(scenario)
        do {
            let session = try await harness.server.makeRuntimeSession()
            try await harness.server.say(session, "do the long job")
            try await harness.server.waitForEvents(session, "second model call") { $0.count(ofType: "span.model_request_start") == 2 }
            // Stop mid-call: the session stays running in the store.
            await harness.mock.setScenario(try runtimeScenario("""
                {"rules": [{"name": "resumed", "last_user_contains": "Created /workspace/step1.txt", "reply": "All done after the restart."}]}
                """))
            try await harness.restartServer()
            let events = try await harness.server.waitForIdle(session)
            #expect(events.types == [
                "user.message", "session.status_running",
                "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
                "span.model_request_start",
                // Closed by the new server, then the call is made again.
                "span.model_request_end",
                "span.model_request_start", "agent.message", "span.model_request_end",
                "session.status_idle",
            ])
            let ends = events.ofType("span.model_request_end")
            #expect(ends.map { $0["is_error"]?.boolValue } == [false, true, false])
            #expect(events.ofType("agent.message").last?.contentText == "All done after the restart.")
            #expect(events.count(ofType: "session.status_running") == 1)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            let workspace = harness.server.sessionFolder(session).appendingPathComponent("workspace/step1.txt")
            #expect(try String(contentsOf: workspace, encoding: .utf8) == "one")
            // The resumed request carries the whole conversation so far.
            let last = try #require(await harness.agentRequests().last)
            #expect(last.rule == "resumed")
            #expect(last.messages.count == 3)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func aToolCallInFlightAtRestartIsReportedAsInterrupted() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "sleepy", "last_user_contains": "run it", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "sleep 30"}}]},
              {"name": "after", "last_user_contains": "server restart", "reply": "I will check whether it finished."}
            ]}
            """)
        var harness = try await RuntimeHarness.start(scenario)
        do {
            let session = try await harness.server.makeRuntimeSession()
            try await harness.server.say(session, "run it")
            try await harness.server.waitForEvents(session, "tool use") { $0.count(ofType: "agent.tool_use") == 1 }
            try await Task.sleep(for: .milliseconds(100))
            try await harness.restartServer()
            let events = try await harness.server.waitForIdle(session)
            let result = try #require(events.ofType("agent.tool_result").first)
            #expect(result["is_error"] == true)
            #expect(result.contentText.contains("server restart"))
            #expect(events.ofType("agent.message").last?.contentText == "I will check whether it finished.")
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
