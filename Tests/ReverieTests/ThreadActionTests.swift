import Foundation
import Testing

@testable import ReverieCore

/// A specialist thread's tool calls that need the user — an `always_ask` confirmation or a
/// custom tool's result — leave the thread idle with `requires_action` while its coordinator
/// keeps waiting; the user's answer, sent with the thread's `session_thread_id`, resumes it.
@Suite(.timeLimit(.minutes(3))) struct ThreadActionTests {
    /// A coordinator that starts a "cleaner" specialist whose bash is `always_ask`, then waits
    /// for it; `extra` rules answer what follows.
    static func cleanupRules(_ extra: [JSONValue]) -> [JSONValue] {
        [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Clean up",
                "reply": [toolUse("start_thread", ["agent": "cleaner", "task": "Remove the temp files."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            [
                "name": "cleaner-start", "system_contains": "You clean", "last_user_contains": "Remove the temp",
                "reply": [toolUse("bash", ["command": "echo cleaned > cleaned.txt; echo done-cleaning"])],
            ],
        ] + extra
    }

    /// Starts the cleanup session and waits until the cleaner asks for confirmation; returns
    /// the session, the cleaner's thread and the log so far.
    static func startCleanup(_ fixture: ThreadFixture) async throws -> (sessionID: String, threadID: String, events: [SessionEvent]) {
        let tools: JSONValue = [["type": "agent_toolset_20260401", "configs": [["name": "bash", "permission_policy": ["type": "always_ask"]]]]]
        let cleaner = try await fixture.agent("cleaner", system: "You clean files.", tools: tools)
        let lead = try await fixture.agent("lead", system: "You coordinate cleanups.", roster: [cleaner])
        let sessionID = try await fixture.session(agent: lead, message: "Clean up")
        let events = try await fixture.waitFor(sessionID) { events in
            events.contains { $0.type == .sessionThreadStatusIdle && $0.fields["stop_reason"]?["type"] == "requires_action" }
        }
        let threadID = try #require(events.last { $0.type == .sessionThreadStatusIdle }?.threadID)
        return (sessionID, threadID, events)
    }

    @Test(arguments: ["allow", "deny"])
    func anAlwaysAskToolInAThreadWaitsForTheUser(answer: String) async throws {
        let rules = Self.cleanupRules([
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished", "reply": "Cleanup reported."],
            ["name": "cleaner-ran", "system_contains": "You clean", "last_user_contains": "done-cleaning", "reply": "Cleaned."],
            ["name": "cleaner-denied", "system_contains": "You clean", "last_user_contains": "denied", "reply": "Not allowed to clean."],
        ])
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in try await Self.confirmInThread(fixture, answer: answer) }
    }

    /// Runs the confirmation scenario (a function of its own: as a closure it crashes the
    /// Swift 6.3.1 compiler's SendNonSendable pass).
    static func confirmInThread(_ fixture: ThreadFixture, answer: String) async throws {
        let (sessionID, threadID, waiting) = try await startCleanup(fixture)
        let idle = try #require(waiting.last { $0.type == .sessionThreadStatusIdle })
        let use = try #require(waiting.last { $0.type == .agentToolUse && $0.threadID == threadID })
        #expect(use.fields["evaluated_permission"] == "ask")
        #expect(idle.fields["stop_reason"]?["event_ids"] == [.string(use.id)])
        #expect(!waiting.contains { $0.type == .agentToolResult && $0.threadID == threadID }, "nothing ran before the user answered")
        #expect(!waiting.contains { $0.type == .sessionStatusIdle && $0.threadID == nil }, "the coordinator keeps waiting")
        let file = fixture.workspace(sessionID).appendingPathComponent("cleaned.txt")
        #expect(!FileManager.default.fileExists(atPath: file.path))

        // An answer must name the thread whose call it answers.
        let unthreaded = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
            "events": [["type": "user.tool_confirmation", "tool_use_id": .string(use.id), "result": .string(answer)]],
        ])
        #expect(unthreaded.status == 400)
        #expect(unthreaded.json["error"]?["message"]?.stringValue?.contains("not a tool call waiting for confirmation") == true)

        let answered = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
            "events": [[
                "type": "user.tool_confirmation", "tool_use_id": .string(use.id), "result": .string(answer),
                "session_thread_id": .string(threadID),
            ]],
        ])
        #expect(answered.status == 200)
        let events = try await fixture.waitForIdle(sessionID)
        let result = try #require(events.last { $0.type == .agentToolResult && $0.threadID == threadID })
        let reply = events.last { $0.type == .agentThreadMessageSent && $0.threadID == threadID }?.text
        if answer == "allow" {
            #expect(result.fields["is_error"] == false)
            #expect(result.text.contains("done-cleaning"))
            #expect(FileManager.default.fileExists(atPath: file.path))
            #expect(reply == "Cleaned.")
        } else {
            #expect(result.fields["is_error"] == true)
            #expect(result.text.contains("denied"))
            #expect(!FileManager.default.fileExists(atPath: file.path))
            #expect(reply == "Not allowed to clean.")
        }
        let primary = events.filter { $0.threadID == nil }
        #expect(primary.last(where: { $0.type == .agentMessage })?.text == "Cleanup reported.")
        #expect(primary.last?.fields["stop_reason"]?["type"] == "end_turn")
    }

    @Test func aCustomToolInAThreadWaitsForTheClientsResult() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Find the value",
                "reply": [toolUse("start_thread", ["agent": "finder", "task": "Look up alpha."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "The value is 42", "reply": "It is 42."],
            ["name": "finder-start", "system_contains": "You find", "last_user_contains": "Look up alpha", "reply": [toolUse("lookup", ["key": "alpha"])]],
            ["name": "finder-done", "system_contains": "You find", "last_user_contains": "value-42", "reply": "The value is 42."],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let tools: JSONValue = [[
                "type": "custom", "name": "lookup", "description": "Looks a key up in the client's records.",
                "input_schema": ["type": "object", "properties": ["key": ["type": "string"]]],
            ]]
            let finder = try await fixture.agent("finder", system: "You find values.", tools: tools)
            let lead = try await fixture.agent("lead", system: "You coordinate lookups.", roster: [finder])
            let sessionID = try await fixture.session(agent: lead, message: "Find the value")

            let waiting = try await fixture.waitFor(sessionID) { events in
                events.contains { $0.type == .sessionThreadStatusIdle && $0.fields["stop_reason"]?["type"] == "requires_action" }
            }
            let use = try #require(waiting.last { $0.type == .agentCustomToolUse })
            let threadID = try #require(use.threadID)
            #expect(use.fields["name"] == "lookup")
            #expect(use.fields["input"] == ["key": "alpha"])

            let answered = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
                "events": [[
                    "type": "user.custom_tool_result", "custom_tool_use_id": .string(use.id),
                    "content": [["type": "text", "text": "value-42"]], "session_thread_id": .string(threadID),
                ]],
            ])
            #expect(answered.status == 200)
            let events = try await fixture.waitForIdle(sessionID)
            #expect(events.last { $0.type == .agentThreadMessageSent && $0.threadID == threadID }?.text == "The value is 42.")
            let primary = events.filter { $0.threadID == nil }
            #expect(primary.last(where: { $0.type == .agentMessage })?.text == "It is 42.")
            #expect(primary.last?.fields["stop_reason"]?["type"] == "end_turn")
            // The finder's second model call saw the client's result.
            let finderCalls = await fixture.mock.requests().filter { $0.rule == "finder-done" }
            #expect(finderCalls.count == 1)
        }
    }

    /// Interrupting a thread that waits for the user answers its call as not run and ends it.
    @Test func interruptingAWaitingThreadEndsIt() async throws {
        let rules = Self.cleanupRules([
            ["name": "coord-stopped", "system_contains": "You coordinate", "last_user_contains": "interrupted", "reply": "The cleanup was stopped."],
        ])
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let (sessionID, threadID, _) = try await Self.startCleanup(fixture)
            let sent = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
                "events": [["type": "user.interrupt", "session_thread_id": .string(threadID)]],
            ])
            #expect(sent.status == 200)
            let events = try await fixture.waitForIdle(sessionID)
            let result = try #require(events.last { $0.type == .agentToolResult && $0.threadID == threadID })
            #expect(result.fields["is_error"] == true)
            #expect(result.text.contains("not run"))
            #expect(events.last { $0.threadID == threadID }?.fields["stop_reason"]?["type"] == "end_turn")
            #expect(!FileManager.default.fileExists(atPath: fixture.workspace(sessionID).appendingPathComponent("cleaned.txt").path))
            let primary = events.filter { $0.threadID == nil }
            #expect(primary.last(where: { $0.type == .agentMessage })?.text == "The cleanup was stopped.")
        }
    }

    /// A thread waiting for the user when the server restarts still waits afterwards, and the
    /// user's answer resumes it under the new server.
    @Test func aThreadWaitingForTheUserStillWaitsAfterARestart() async throws {
        let rules = Self.cleanupRules([
            ["name": "coord-rewait", "system_contains": "You coordinate", "last_user_contains": "server restart", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished", "reply": "Cleanup reported."],
            ["name": "cleaner-ran", "system_contains": "You clean", "last_user_contains": "done-cleaning", "reply": "Cleaned."],
        ])
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let (sessionID, threadID, waiting) = try await Self.startCleanup(fixture)
            let use = try #require(waiting.last { $0.type == .agentToolUse && $0.threadID == threadID })
            let restarted = try await fixture.restarted()
            do {
                // The coordinator resumes and waits again; the thread does not run on its own.
                _ = try await restarted.waitFor(sessionID) { events in
                    events.filter { $0.type == .agentToolUse && $0.threadID == nil && $0.fields["name"] == "wait_for_threads" }.count == 2
                }
                try await Task.sleep(for: .milliseconds(200))
                let before = try await restarted.events(sessionID)
                #expect(!before.contains { $0.type == .agentToolResult && $0.threadID == threadID })
                #expect(!before.contains { $0.type == .sessionStatusIdle && $0.threadID == nil }, "the coordinator still waits for the thread")

                let answered = try await restarted.server.post("/v1/sessions/\(sessionID)/events", [
                    "events": [[
                        "type": "user.tool_confirmation", "tool_use_id": .string(use.id), "result": "allow", "session_thread_id": .string(threadID),
                    ]],
                ])
                #expect(answered.status == 200)
                let events = try await restarted.waitForIdle(sessionID)
                #expect(events.last { $0.type == .agentThreadMessageSent && $0.threadID == threadID }?.text == "Cleaned.")
                #expect(events.filter { $0.threadID == nil }.last(where: { $0.type == .agentMessage })?.text == "Cleanup reported.")
                #expect(FileManager.default.fileExists(atPath: restarted.workspace(sessionID).appendingPathComponent("cleaned.txt").path))
            } catch {
                await restarted.server.stop()
                throw error
            }
            await restarted.server.stop()
        }
    }
}
