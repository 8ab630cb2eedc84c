import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// Outcomes end to end: the agent works, a grader in its own context judges the deliverable,
/// `needs_revision` sends the agent back with the gaps, and the loop stops at a terminal result.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OutcomeLoopTests {
    static func verdict(_ result: String, _ explanation: String, passed: Bool) -> String {
        let json: JSONValue = [
            "criteria": [["criterion": "Has a title", "passed": .bool(passed), "reason": .string(explanation)]],
            "result": .string(result), "explanation": .string(explanation),
        ]
        let text = (try? JSONCoding.string(json)) ?? "{}"
        // As a JSON string literal for a scenario.
        return (try? JSONCoding.string(JSONValue.string(text))) ?? "\"\""
    }

    static func defineOutcome(_ description: String, rubric: String, maxIterations: Int? = nil) -> JSONValue {
        var event: [String: JSONValue] = [
            "type": "user.define_outcome", "description": .string(description), "rubric": ["type": "text", "content": .string(rubric)],
        ]
        if let maxIterations { event["max_iterations"] = .int(Int64(maxIterations)) }
        return .object(event)
    }

    @Test func failsTwiceThenPasses() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)",
               "sequence": [
                 {"reply": \(Self.verdict("needs_revision", "GAP-ONE: the title is missing", passed: false)), "usage": {"input_tokens": 1000, "output_tokens": 100}},
                 {"reply": \(Self.verdict("needs_revision", "GAP-TWO: the title is too long", passed: false)), "usage": {"input_tokens": 1000, "output_tokens": 100}},
                 {"reply": \(Self.verdict("satisfied", "All good.", passed: true)), "usage": {"input_tokens": 1000, "output_tokens": 100}}
               ]},
              {"name": "agent", "sequence": [
                 {"reply": "Report v1", "usage": {"input_tokens": 10, "output_tokens": 1}},
                 {"reply": "Report v2", "usage": {"input_tokens": 10, "output_tokens": 1}},
                 {"reply": "Report v3", "usage": {"input_tokens": 10, "output_tokens": 1}}
               ]}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            let sent = try await server.send(session, [Self.defineOutcome("Write a report", rubric: "- Has a title")])
            let outcomeID = try #require(sent.first?["outcome_id"]?.stringValue)
            let events = try await server.waitForIdle(session)

            let cycle = ["span.model_request_start", "agent.message", "span.model_request_end",
                         "span.outcome_evaluation_start", "span.outcome_evaluation_ongoing", "span.outcome_evaluation_end"]
            #expect(events.types == ["user.define_outcome", "session.status_running"] + cycle + cycle + cycle + ["session.status_idle"])
            let ends = events.ofType("span.outcome_evaluation_end")
            #expect(ends.map { $0["result"]?.stringValue } == ["needs_revision", "needs_revision", "satisfied"])
            #expect(ends.map { $0["iteration"]?.intValue } == [0, 1, 2], "iterations are 0-indexed")
            #expect(events.ofType("span.outcome_evaluation_start").map { $0["iteration"]?.intValue } == [0, 1, 2])
            #expect(ends.map { $0["outcome_evaluation_start_id"] } == events.ofType("span.outcome_evaluation_start").map { $0["id"] })
            #expect(ends.allSatisfy { $0["outcome_id"] == .string(outcomeID) })
            #expect(ends.first?["explanation"]?.stringValue?.contains("GAP-ONE") == true)
            #expect(ends.first?["usage"]?["input_tokens"] == 1000)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])

            // The agent got the grader's gaps back; the grader judged each new version.
            let agent = await harness.agentRequests()
            #expect(agent.count == 3)
            #expect(agent[0].bodyText.contains("Write a report"))
            #expect(agent[1].messages.last?.contentTextOrString.contains("GAP-ONE") == true)
            #expect(agent[2].messages.last?.contentTextOrString.contains("GAP-TWO") == true)
            let grader = await harness.graderRequests()
            #expect(grader.count == 3)
            for (index, request) in grader.enumerated() {
                #expect(request.bodyText.contains("Report v\(index + 1)"))
                if index > 0 { #expect(!request.bodyText.contains("Report v\(index)")) }
            }

            let resource = try await server.session(session)
            let evaluation = try #require(resource["outcome_evaluations"]?.arrayValue?.first)
            #expect(evaluation["outcome_id"] == .string(outcomeID))
            #expect(evaluation["result"] == "satisfied")
            #expect(evaluation["iteration"] == 2)
            #expect(evaluation["completed_at"]?.stringValue != nil)
            // Grader usage is part of the session's usage.
            let usage = try #require(resource["usage"])
            #expect(usage["input_tokens"]?.intValue == 3030)
            #expect(usage["output_tokens"]?.intValue == 303)
        }
    }

    @Test func neverPassingStopsAtMaxIterations() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("needs_revision", "STILL-WRONG", passed: false))},
              {"name": "ack", "last_user_contains": "no more evaluations", "reply": "Understood, stopping here."},
              {"name": "agent", "reply": "Another attempt."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.send(session, [Self.defineOutcome("Do the impossible", rubric: "- Impossible", maxIterations: 2)])
            let events = try await server.waitForIdle(session)
            let ends = events.ofType("span.outcome_evaluation_end")
            #expect(ends.map { $0["result"]?.stringValue } == ["needs_revision", "max_iterations_reached"])
            #expect(await harness.graderRequests().count == 2, "exactly max_iterations evaluations")
            // One final acknowledgment turn follows, then the session goes idle.
            let afterLast = events.after(lastOf: "span.outcome_evaluation_end")
            #expect(afterLast.types == ["span.model_request_start", "agent.message", "span.model_request_end", "session.status_idle"])
            #expect(afterLast.ofType("agent.message").first?.contentText == "Understood, stopping here.")
            let agent = await harness.agentRequests()
            #expect(agent.map(\.rule) == ["agent", "agent", "ack"])
            #expect(agent.last?.messages.last?.contentTextOrString.contains("STILL-WRONG") == true)
            let evaluation = try #require(try await server.session(session)["outcome_evaluations"]?.arrayValue?.first)
            #expect(evaluation["result"] == "max_iterations_reached")
            #expect(evaluation["iteration"] == 1)

            // The outcome is over: another can be defined.
            try await server.send(session, [Self.defineOutcome("Something else", rubric: "- Anything", maxIterations: 1)])
            let more = try await server.waitForIdle(session, count: 2)
            #expect(more.count(ofType: "span.outcome_evaluation_end") == 3)
        }
    }

    @Test func anInterruptDuringGradingEndsTheOutcomeInterrupted() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "hold": "never", "reply": \(Self.verdict("satisfied", "ok", passed: true))},
              {"name": "agent", "reply": "Work done."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.send(session, [Self.defineOutcome("Work", rubric: "- Done")])
            try await server.waitForEvents(session, "grading") { $0.count(ofType: "span.outcome_evaluation_ongoing") == 1 }
            try await Task.sleep(for: .milliseconds(50))
            // The grader's call is held for good: only the interrupt can end the evaluation.
            try await server.send(session, [["type": "user.interrupt"]])
            let events = try await server.waitForIdle(session, timeout: .seconds(60))
            let end = try #require(events.ofType("span.outcome_evaluation_end").first)
            #expect(end["result"] == "interrupted")
            #expect(events.count(ofType: "span.outcome_evaluation_end") == 1)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            let evaluation = try #require(try await server.session(session)["outcome_evaluations"]?.arrayValue?.first)
            #expect(evaluation["result"] == "interrupted")
        }
    }

    /// A restart while the grader is judging resumes the grading inside the span it opened:
    /// every `span.outcome_evaluation_start` gets its end.
    @Test func gradingCutShortByARestartResumesInItsOwnSpan() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "slow grader", "system_contains": "\(graderMarker)", "times": 1, "latency_ms": 20000, "reply": \(Self.verdict("satisfied", "late", passed: true))},
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("satisfied", "ok", passed: true))},
              {"name": "agent", "reply": "Work done."}
            ]}
            """)
        var harness = try await RuntimeHarness.start(scenario)
        do {
            let session = try await harness.server.makeRuntimeSession()
            try await harness.server.send(session, [Self.defineOutcome("Work", rubric: "- Done")])
            try await harness.server.waitForEvents(session, "grading") { $0.count(ofType: "span.outcome_evaluation_ongoing") == 1 }
            try await harness.restartServer()
            let events = try await harness.server.waitForIdle(session, timeout: .seconds(15))
            let starts = events.ofType("span.outcome_evaluation_start")
            let ends = events.ofType("span.outcome_evaluation_end")
            #expect(starts.count == 1)
            #expect(ends.count == 1)
            #expect(ends.first?["outcome_evaluation_start_id"] == starts.first?["id"])
            #expect(ends.first?["result"] == "satisfied")
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            #expect(await harness.graderRequests().count == 2)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func anInterruptWhileTheAgentRevisesEndsTheOutcomeInterrupted() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("needs_revision", "more", passed: false))},
              {"name": "slow revision", "last_user_contains": "needs revision", "times": 1, "latency_ms": 20000, "reply": "late"},
              {"name": "agent", "reply": "First try."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.send(session, [Self.defineOutcome("Work", rubric: "- Done", maxIterations: 5)])
            try await server.waitForEvents(session, "revision call") { $0.count(ofType: "span.model_request_start") == 2 }
            try await server.send(session, [["type": "user.interrupt"]])
            let events = try await server.waitForIdle(session, timeout: .seconds(10))
            let ends = events.ofType("span.outcome_evaluation_end")
            #expect(ends.map { $0["result"]?.stringValue } == ["needs_revision", "interrupted"])
            #expect(ends.last?["outcome_evaluation_start_id"] == events.ofType("span.outcome_evaluation_start").last?["id"])
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            let evaluation = try #require(try await server.session(session)["outcome_evaluations"]?.arrayValue?.first)
            #expect(evaluation["result"] == "interrupted")
            // A later message is an ordinary turn: nothing is graded.
            try await server.say(session, "thanks")
            let after = try await server.waitForIdle(session, count: 2)
            #expect(after.count(ofType: "span.outcome_evaluation_start") == 2)
            #expect(await harness.graderRequests().count == 1)
        }
    }

    @Test func theGraderSeesOnlyTheDeliverableNotTheWork() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("satisfied", "fine", passed: true))},
              {"name": "work", "last_user_contains": "Compute the answer",
               "reply": [{"type": "thinking", "thinking": "HIDDEN-THOUGHT", "signature": "sig"},
                         {"type": "text", "text": "Scratch: PRIVATE-REASONING"},
                         {"type": "tool_use", "name": "bash", "input": {"command": "echo SECRET-WORKING-NOTE"}}]},
              {"name": "save", "last_user_contains": "SECRET-WORKING-NOTE",
               "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "/mnt/session/outputs/answer.txt", "content": "FORTY-TWO"}}]},
              {"name": "final", "last_user_contains": "Created /mnt/session/outputs/answer.txt", "reply": "Final answer: 42"}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.send(session, [
                userMessage("USER-CHATTER before the outcome"),
                Self.defineOutcome("Compute the answer into /mnt/session/outputs/answer.txt", rubric: "- RUBRIC-LINE: the answer is 42"),
            ])
            let events = try await server.waitForIdle(session)
            #expect(events.ofType("span.outcome_evaluation_end").map { $0["result"]?.stringValue } == ["satisfied"])
            let grader = try #require(await harness.graderRequests().first)
            #expect(await harness.graderRequests().count == 1)
            #expect(grader.systemText.hasPrefix(graderMarker))
            #expect(grader.messages.count == 1)
            #expect(grader.body["tools"] == nil || grader.body["tools"] == [])
            let text = grader.bodyText
            for expected in ["Compute the answer", "RUBRIC-LINE", "Final answer: 42", "/mnt/session/outputs/answer.txt", "FORTY-TWO"] {
                #expect(text.contains(expected), "grader request lacks \(expected)")
            }
            for hidden in ["HIDDEN-THOUGHT", "PRIVATE-REASONING", "SECRET-WORKING-NOTE", "USER-CHATTER", "tool_use", "tool_result"] {
                #expect(!text.contains(hidden), "grader request leaks \(hidden)")
            }
            // The agent's own requests did carry its work.
            let agentText = await harness.agentRequests().map(\.bodyText).joined()
            #expect(agentText.contains("SECRET-WORKING-NOTE"))
        }
    }

    @Test func aFailingCheckForcesRevisionEvenWhenTheGraderIsSatisfied() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("satisfied", "looks fine", passed: true))},
              {"name": "fix", "last_user_contains": "needs revision",
               "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "/mnt/session/outputs/result.txt", "content": "ok"}}]},
              {"name": "agent", "reply": "Done."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.send(session, [
                Self.defineOutcome("Produce result.txt", rubric: "- The result is there\n- check: `test -f /mnt/session/outputs/result.txt`"),
            ])
            let events = try await server.waitForIdle(session)
            let ends = events.ofType("span.outcome_evaluation_end")
            #expect(ends.map { $0["result"]?.stringValue } == ["needs_revision", "satisfied"])
            let firstCriteria = ends.first?["criteria"]?.arrayValue ?? []
            let check = try #require(firstCriteria.first { $0["source"] == "check" })
            #expect(check["passed"] == false)
            #expect(check["criterion"] == "test -f /mnt/session/outputs/result.txt")
            #expect(ends.first?["explanation"]?.stringValue?.contains("test -f") == true)
            let secondCheck = try #require((ends.last?["criteria"]?.arrayValue ?? []).first { $0["source"] == "check" })
            #expect(secondCheck["passed"] == true)
            // The agent was told which check failed.
            let agent = await harness.agentRequests()
            #expect(agent.map(\.rule) == ["agent", "fix", "agent"])
            #expect(agent[1].messages.last?.contentTextOrString.contains("test -f /mnt/session/outputs/result.txt") == true)
            // The grader model was told the checks' results.
            let grader = await harness.graderRequests()
            #expect(grader.first?.bodyText.contains("failed") == true)
        }
    }

    /// Checks run where the agent's tools run: inside the session's sandbox (its folders at
    /// their virtual paths, not the host's files, not root), in a fresh shell rather than the
    /// agent's (whose functions the agent controls).
    @Test func checksRunInsideTheSessionsSandbox() async throws {
        let hostFile = "/tmp/reverie-check-host-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: hostFile, contents: Data("host".utf8))
        defer { try? FileManager.default.removeItem(atPath: hostFile) }
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "grader", "system_contains": "\(graderMarker)", "reply": \(Self.verdict("satisfied", "looks fine", passed: true))},
              {"name": "work", "last_user_contains": "Produce",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo hello > /mnt/session/outputs/result.txt; grep() { return 0; }; id() { echo 0; }"}}]},
              {"name": "agent", "reply": "Done."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            let inside = "grep -qx hello /mnt/session/outputs/result.txt && test ! -e \(hostFile) && test \"$(id -u)\" != 0 && test \"$PWD\" = /workspace"
            try await server.send(session, [
                Self.defineOutcome("Produce result.txt", rubric: "- check: `\(inside)`\n- check: `grep -q nothing /mnt/session/outputs/result.txt`"),
            ])
            let events = try await server.waitForIdle(session)
            let end = try #require(events.ofType("span.outcome_evaluation_end").first)
            let checks = (end["criteria"]?.arrayValue ?? []).filter { $0["source"] == "check" }
            #expect(checks.count == 2)
            #expect(checks.first?["passed"] == true, "\(checks.first?["reason"] ?? "")")
            // The agent's shell function `grep` (always true) is not the check's grep.
            #expect(checks.last?["passed"] == false, "\(checks.last?["reason"] ?? "")")
        }
    }
}
