import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// The agent loop end to end: a real server runs agents whose model is the mock model
/// server, over real HTTP, with the built-in tools working on real files.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RuntimeLoopTests {
    /// write → read → bash → final message, with explicit token counts on every reply.
    static let toolTurn = """
        {"rules": [
          {"name": "start", "last_user_contains": "make notes",
           "reply": [{"type": "text", "text": "I'll write them."},
                     {"type": "tool_use", "name": "write", "input": {"file_path": "notes/a.txt", "content": "alpha\\nbeta\\n"}}],
           "usage": {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 7}},
          {"name": "after write", "last_user_contains": "Created /workspace/notes/a.txt",
           "reply": [{"type": "tool_use", "name": "read", "input": {"file_path": "/workspace/notes/a.txt"}}],
           "usage": {"input_tokens": 200, "output_tokens": 20}},
          {"name": "after read", "last_user_regex": "1\\talpha",
           "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "wc -l < notes/a.txt; echo counted"}}],
           "usage": {"input_tokens": 300, "output_tokens": 30, "cache_creation_input_tokens": 3}},
          {"name": "after bash", "last_user_contains": "counted",
           "reply": "The file has 2 lines.", "usage": {"input_tokens": 400, "output_tokens": 40}},
          {"name": "second turn", "last_user_contains": "what did you find",
           "reply": "Two lines: alpha and beta.", "usage": {"input_tokens": 500, "output_tokens": 50}}
        ]}
        """

    @Test func toolCallsRunAndTheTurnEndsIdle() async throws {
        try await RuntimeHarness.with(try runtimeScenario(Self.toolTurn)) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "Please make notes.")
            let events = try await server.waitForIdle(session)

            #expect(events.types == [
                "user.message", "session.status_running",
                "span.model_request_start", "agent.message", "agent.tool_use", "span.model_request_end", "agent.tool_result",
                "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
                "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
                "span.model_request_start", "agent.message", "span.model_request_end",
                "session.status_idle",
            ])
            let uses = events.ofType("agent.tool_use")
            #expect(uses.map { $0["name"]?.stringValue } == ["write", "read", "bash"])
            #expect(uses.allSatisfy { $0["evaluated_permission"] == "allow" })
            let results = events.ofType("agent.tool_result")
            #expect(results.map { $0["tool_use_id"] } == uses.map { $0["id"] })
            #expect(results.allSatisfy { $0["is_error"] == false })
            #expect(results[0].contentText.contains("Created /workspace/notes/a.txt"))
            #expect(results[1].contentText.contains("1\talpha"))
            #expect(results[2].contentText.contains("2\ncounted"))
            #expect(events.ofType("agent.message").last?.contentText == "The file has 2 lines.")
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            // Every model request span is closed, without error, and points at its start.
            let starts = events.ofType("span.model_request_start").map { $0["id"] }
            let ends = events.ofType("span.model_request_end")
            #expect(ends.map { $0["model_request_start_id"] } == starts)
            #expect(ends.allSatisfy { $0["is_error"] == false })
            #expect(ends.first?["model_usage"]?["input_tokens"] == 100)

            // The tools touched real files in the session's workspace.
            let file = server.sessionFolder(session).appendingPathComponent("workspace/notes/a.txt")
            #expect(try String(contentsOf: file, encoding: .utf8) == "alpha\nbeta\n")

            // Usage is rolled up on the session.
            let resource = try await server.session(session)
            #expect(resource["status"] == "idle")
            #expect(resource["usage"]?["input_tokens"] == 1000)
            #expect(resource["usage"]?["output_tokens"] == 100)
            #expect(resource["usage"]?["cache_read_input_tokens"] == 7)
            #expect(resource["usage"]?["cache_creation"]?["ephemeral_5m_input_tokens"] == 3)

            // The agent saw its tools on every call, and the right rules answered.
            let requests = await harness.agentRequests()
            #expect(requests.map(\.rule) == ["start", "after write", "after read", "after bash"])
            let offered = Set((requests[0].body["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
            #expect(offered.isSuperset(of: ["bash", "read", "write", "edit", "glob", "grep"]))
        }
    }

    @Test func theNextTurnRebuildsTheConversationFromTheLog() async throws {
        try await RuntimeHarness.with(try runtimeScenario(Self.toolTurn)) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "Please make notes.")
            try await server.waitForIdle(session)
            try await server.say(session, "So what did you find?")
            let events = try await server.waitForIdle(session, count: 2)
            #expect(events.ofType("agent.message").last?.contentText == "Two lines: alpha and beta.")

            let requests = await harness.agentRequests()
            #expect(requests.count == 5)
            let last = try #require(requests.last)
            #expect(last.rule == "second turn")
            let messages = last.messages
            #expect(messages.map { $0["role"]?.stringValue ?? "" } == [
                "user", "assistant", "user", "assistant", "user", "assistant", "user", "assistant", "user",
            ])
            // Tool calls carry their event ids, and each result answers the call before it.
            let uses = events.ofType("agent.tool_use")
            let results = events.ofType("agent.tool_result")
            for (index, use) in uses.enumerated() {
                let assistant = messages[1 + 2 * index]["content"]?.arrayValue ?? []
                let call = try #require(assistant.first { $0["type"] == "tool_use" })
                #expect(call["id"] == use["id"])
                #expect(call["name"] == use["name"])
                #expect(call["input"] == use["input"])
                let answer = try #require(messages[2 + 2 * index]["content"]?.arrayValue?.first)
                #expect(answer["type"] == "tool_result")
                #expect(answer["tool_use_id"] == use["id"])
                let answerText = (answer["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
                #expect(answerText == results[index].contentText)
            }
            #expect(messages[0].contentTextOrString == "Please make notes.")
            #expect(messages[1]["content"]?.arrayValue?.first?["text"] == "I'll write them.")
            #expect(messages[7].contentTextOrString == "The file has 2 lines.")
            #expect(messages[8].contentTextOrString == "So what did you find?")
            // The first turn's final request is a prefix of the second turn's (prompt-cache
            // breakpoints move to the latest messages).
            let earlier = requests[3].messages.map(\.withoutCacheControl)
            #expect(Array(messages.prefix(earlier.count)).map(\.withoutCacheControl) == earlier)
        }
    }

    @Test(arguments: ["allow", "deny"])
    func callsThatNeedConfirmationWaitForTheUser(answer: String) async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "start", "last_user_contains": "two things",
               "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "a.txt", "content": "A"}},
                         {"type": "tool_use", "name": "bash", "input": {"command": "cat a.txt; echo ran"}}]},
              {"name": "after bash", "last_user_contains": "Aran", "reply": "Both done."},
              {"name": "after deny", "last_user_contains": "denied this tool call: not now", "reply": "Skipped the command."}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let agent = try await server.makeAgent(tools: [[
                "type": "agent_toolset_20260401", "configs": [["name": "bash", "permission_policy": ["type": "always_ask"]]],
            ]])
            let session = try await server.makeRuntimeSession(agent: agent)
            try await server.say(session, "Do two things.")
            let waiting = try await server.waitForIdle(session)
            #expect(waiting.types == [
                "user.message", "session.status_running", "span.model_request_start", "agent.tool_use", "agent.tool_use", "span.model_request_end",
                "agent.tool_result", "session.status_idle",
            ])
            let uses = waiting.ofType("agent.tool_use")
            #expect(uses.map { $0["evaluated_permission"]?.stringValue } == ["allow", "ask"])
            #expect(uses.last?["evaluation"] == ["type": "always_ask"])
            #expect(waiting.ofType("agent.tool_result").first?["tool_use_id"] == uses.first?["id"])
            let bashID = try #require(uses.last?["id"])
            #expect(waiting.last?["stop_reason"] == ["type": "requires_action", "event_ids": [bashID]])
            #expect(try await server.session(session)["status"] == "idle")

            var confirmation: [String: JSONValue] = ["type": "user.tool_confirmation", "tool_use_id": bashID, "result": .string(answer)]
            if answer == "deny" { confirmation["deny_message"] = "not now" }
            try await server.send(session, [.object(confirmation)])
            let events = try await server.waitForIdle(session, count: 2)
            #expect(events.after(lastOf: "user.tool_confirmation").types == [
                "session.status_running", "agent.tool_result", "span.model_request_start", "agent.message", "span.model_request_end",
                "session.status_idle",
            ])
            let result = try #require(events.ofType("agent.tool_result").last)
            #expect(result["tool_use_id"] == bashID)
            #expect(result["is_error"] == .bool(answer == "deny"))
            #expect(events.ofType("agent.message").last?.contentText == (answer == "allow" ? "Both done." : "Skipped the command."))
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            // The command ran only when allowed.
            let requests = await harness.agentRequests()
            let last = try #require(requests.last)
            let results = last.messages.last?["content"]?.arrayValue ?? []
            #expect(results.compactMap { $0["tool_use_id"] } == uses.map { $0["id"] ?? .null })
            #expect(requests.count == 2)
        }
    }

    @Test(arguments: [false, true])
    func openAICompatibleProviderRunsTheLoop(streaming: Bool) async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "start", "api": "openai", "last_user_contains": "count the files",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "touch one two three; ls | wc -l"}}],
               "usage": {"input_tokens": 50, "output_tokens": 5}},
              {"name": "after bash", "api": "openai", "last_user_regex": "^\\\\s*3",
               "reply": "There are 3 files.", "usage": {"input_tokens": 60, "output_tokens": 6}}
            ]}
            """)
        try await RuntimeHarness.with(scenario, kind: .openai, streaming: streaming) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "Please count the files.")
            let events = try await server.waitForIdle(session)
            #expect(events.types == [
                "user.message", "session.status_running",
                "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
                "span.model_request_start", "agent.message", "span.model_request_end",
                "session.status_idle",
            ])
            #expect(events.ofType("agent.message").last?.contentText == "There are 3 files.")
            let usage = try await server.session(session)["usage"]
            #expect(usage?["input_tokens"] == 110)
            #expect(usage?["output_tokens"] == 11)

            let requests = await harness.agentRequests()
            #expect(requests.map(\.path) == ["/v1/chat/completions", "/v1/chat/completions"])
            #expect(requests.map(\.rule) == ["start", "after bash"])
            #expect(requests.allSatisfy { $0.body["stream"] == .bool(streaming) || (!streaming && $0.body["stream"] == nil) })
            // The tool call went back as an assistant tool_calls message answered by a tool message.
            let messages = requests[1].messages
            let use = try #require(events.ofType("agent.tool_use").first)
            let assistant = try #require(messages.first { $0["role"] == "assistant" })
            #expect(assistant["tool_calls"]?.arrayValue?.first?["id"] == use["id"])
            let tool = try #require(messages.first { $0["role"] == "tool" })
            #expect(tool["tool_call_id"] == use["id"])
            #expect(tool["content"]?.stringValue?.hasPrefix("3") == true)
        }
    }

    @Test func sessionsRunConcurrentlyInIsolation() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "work", "last_user_regex": "^job-\\\\d+$", "hold": "work",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo mine > own.txt; ls | wc -l"}}]},
              {"name": "finish", "last_user_regex": "^\\\\s*1",
               "reply": "finished {{last_user}}"}
            ]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let count = 8
            var sessions: [String] = []
            for _ in 0..<count { sessions.append(try await server.makeRuntimeSession()) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, session) in sessions.enumerated() {
                    group.addTask { try await server.say(session, "job-\(index)") }
                }
                try await group.waitForAll()
            }
            // Concurrently: all eight first model calls are in flight, unanswered, at once
            // (one session after another, only one would ever be).
            #expect(await eventually { await harness.mock.held(at: "work") == count })
            await harness.mock.openGate("work")
            for (index, session) in sessions.enumerated() {
                let events = try await server.waitForIdle(session)
                #expect(events.count(ofType: "agent.tool_use") == 1)
                #expect(events.ofType("agent.tool_result").first?.contentText.hasPrefix("1") == true, "each workspace holds only its own file")
                #expect(events.ofType("user.message").map(\.contentText) == ["job-\(index)"])
                #expect(events.last?["stop_reason"] == ["type": "end_turn"])
                let file = server.sessionFolder(session).appendingPathComponent("workspace/own.txt")
                #expect(FileManager.default.fileExists(atPath: file.path))
            }
            // Every conversation the model saw belongs to exactly one session.
            let requests = await harness.agentRequests()
            #expect(requests.count == 2 * count)
            for index in 0..<count {
                let mine = requests.filter { $0.messages.first?.contentTextOrString == "job-\(index)" }
                #expect(mine.count == 2)
                for request in mine {
                    let others = (0..<count).filter { $0 != index }.map { "\"job-\($0)\"" }
                    #expect(!others.contains { request.bodyText.contains($0) })
                }
            }
            #expect(await harness.server.host.runner?.activeSessionCount == 0)
        }
    }

    @Test func aSessionWhoseModelIsNotRoutedReportsAnErrorAndIdles() async throws {
        // A catalog with a route for one model only.
        let mock = MockLLMServer()
        try await mock.start()
        let url = mock.baseURL ?? ""
        let server = try await TestServer.start { configuration in
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: url, retry: .none)],
                routes: [ModelRoute(match: "known-model", provider: "mock")])
        }
        do {
            let agent = try await server.makeAgent(model: "unrouted-model")
            let session = try await server.makeRuntimeSession(agent: agent)
            try await server.say(session, "hello")
            let events = try await server.waitForIdle(session)
            let error = try #require(events.ofType("session.error").first)
            #expect(error["error"]?["retry_status"]?["type"] == "terminal")
            #expect(error["error"]?["message"]?.stringValue?.contains("unrouted-model") == true)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            #expect(await mock.requests().isEmpty)
        } catch {
            await server.stop()
            await mock.stop()
            throw error
        }
        await server.stop()
        await mock.stop()
    }
}

extension JSONValue {
    /// A message's text whether `content` is a string (OpenAI, plain Anthropic) or text blocks.
    var contentTextOrString: String {
        if let text = self["content"]?.stringValue { return text }
        return contentText
    }
}
