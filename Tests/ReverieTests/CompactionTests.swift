import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieServer
@testable import ReverieModels
@testable import ReverieRuntime
import Testing

/// Long sessions: the conversation is compacted to stay under the model's context window, the
/// log keeps everything and rebuilds the same view after a restart, and a fact from before a
/// compaction still reaches the model through the summary.
@Suite(.serialized, .timeLimit(.minutes(4))) struct CompactionTests {
    static let window = 10_000
    static let fact = "Remember this: the launch code is 4417."

    /// A worker that prints `reports` bulky reports with bash (about 1,000 tokens each), then
    /// stops; a summariser that keeps the launch code; an answer that recalls it from whatever
    /// the request still holds. `holdAt`: the worker step that waits at gate `pause`.
    static func scenario(reports: Int, holdAt: Int? = nil, workerSystem: String? = nil, leading: [JSONValue] = []) throws -> MockScenario {
        var steps: [JSONValue] = (0..<reports).map { index in
            var step: [String: JSONValue] = [
                "reply": [[
                    "type": "tool_use", "name": "bash",
                    "input": ["command": .string("printf 'report \(index) line %04d: bulky output that only fills the context\\n' $(seq 1 60)")],
                ]],
            ]
            if index == holdAt { step["hold"] = "pause" }
            return .object(step)
        }
        steps.append(["reply": "All reports are printed."])
        var worker: [String: JSONValue] = ["name": "worker", "sequence": .array(steps)]
        if let workerSystem { worker["system_contains"] = .string(workerSystem) }
        let json: JSONValue = [
            "rules": .array(leading + [
                [
                    "name": "compactor", "system_contains": .string(CompactionPrompt.marker),
                    "reply": "Summary: the user said the launch code is {{match:launch code is (\\d+)}}. The agent is printing bulky reports with bash.",
                ],
                ["name": "answer", "last_user_contains": "What is the launch code", "reply": "The launch code is {{recall:launch code is (\\d+)}}."],
                .object(worker),
            ]),
        ]
        return try MockScenario(json: JSONCoding.data(json))
    }

    /// Every model routes to the mock with a small context window.
    static func smallWindow(_ configuration: inout HostConfiguration) {
        guard var models = configuration.models else { return }
        for index in models.routes.indices { models.routes[index].contextWindow = window }
        configuration.models = models
    }

    static func requestTokens(_ request: RecordedRequest) -> Int {
        ((try? JSONCoding.data(request.body).count) ?? 0) / 4
    }

    @Test(arguments: [ProviderKind.anthropic, .openai])
    func aSessionRunsFarPastItsWindowAndStillRecallsAFactFromBeforeTheCompaction(kind: ProviderKind) async throws {
        let harness = try await RuntimeHarness.start(try Self.scenario(reports: 24), kind: kind, configure: Self.smallWindow)
        do {
            try await runsFarPastItsWindow(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    func runsFarPastItsWindow(_ harness: RuntimeHarness) async throws {
        let server = harness.server
        let session = try await server.makeRuntimeSession()
        try await server.say(session, "\(Self.fact) Now print the reports.")
        try await server.waitForIdle(session, timeout: .seconds(90))
        try await server.say(session, "What is the launch code?")
        let events = try await server.waitForIdle(session, count: 2, timeout: .seconds(30))

        let compactions = events.filter { $0["type"] == "agent.thread_context_compacted" }
        #expect(compactions.count >= 2, "the session grew to several times its window")
        let toolOutput = events.filter { $0["type"] == "agent.tool_result" }.count
        #expect(toolOutput == 24, "the log keeps every tool result")
        let requests = await harness.mock.requests()
        let total = requests.filter { $0.rule == "worker" }.map(Self.requestTokens).reduce(0, +)
        #expect(total > 4 * Self.window, "the worker's requests together were far larger than the window")
        for request in requests {
            #expect(Self.requestTokens(request) < Self.window, "a \(request.rule ?? "?") request of \(Self.requestTokens(request)) tokens")
        }
        let reply = try #require(events.last { $0["type"] == "agent.message" })
        #expect(reply.contentText.contains("4417"), "the fact came through the summary: \(reply.contentText)")
        let answer = try #require(requests.last { $0.rule == "answer" })
        let sent = String(decoding: try JSONCoding.data(answer.body), as: UTF8.self)
        #expect(!sent.contains(Self.fact), "the original message was compacted away")
        #expect(sent.contains("compacted to fit the context window"))
        // Each compaction records its summary and range, and its request's usage is counted.
        let first = try #require(compactions.first)
        #expect(first["summary"]?.stringValue?.contains("4417") == true)
        #expect(first["kept_from_event_id"]?.stringValue?.hasPrefix("sevt_") == true)
        #expect(first["compacted_to_event_id"]?.stringValue != nil)
        #expect(events.contains { $0["type"] == "span.model_request_start" && $0["purpose"] == "compaction" })
        #expect(!events.contains { $0["type"] == "session.error" })
        print("compaction figures (\(harness.kind)): \(compactions.count) compactions, worker requests \(total) tokens in all, largest request \(requests.map(Self.requestTokens).max() ?? 0) tokens")
    }

    @Test func aRestartMidSessionResumesWithTheSameCompactedView() async throws {
        var harness = try await RuntimeHarness.start(try Self.scenario(reports: 16, holdAt: 10), configure: Self.smallWindow)
        do {
            let session = try await harness.server.makeRuntimeSession()
            try await harness.server.say(session, "\(Self.fact) Now print the reports.")
            let deadline = ContinuousClock.now + .seconds(60)
            while await harness.mock.held(at: "pause") == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await harness.mock.held(at: "pause") == 1)
            let held = try #require(await harness.mock.requests().last { $0.rule == "worker" })
            let before = try await harness.server.events(session)
            #expect(before.contains { $0["type"] == "agent.thread_context_compacted" }, "compacted before the restart")

            try await harness.restartServer()
            let events = try await harness.server.waitForIdle(session, timeout: .seconds(60))
            let requests = await harness.mock.requests()
            let heldIndex = try #require(requests.lastIndex { $0.receivedAt == held.receivedAt && $0.rule == "worker" })
            let resumed = try #require(requests[(heldIndex + 1)...].first { $0.rule == "worker" })
            #expect(resumed.messages == held.messages, "the resumed loop sends the view it had before the restart")
            #expect(resumed.systemText == held.systemText)
            #expect(events.last { $0["type"] == "agent.message" }?.contentText == "All reports are printed.")
            // The held request's reply was never delivered (the mock moved on to the next step).
            #expect(events.filter { $0["type"] == "agent.tool_result" }.count == 15)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func aSpecialistThreadIsCompactedInItsOwnLane() async throws {
        let coordinator: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Get the reports",
                "reply": [toolUse("start_thread", ["agent": "printer", "task": .string("\(Self.fact) Now print the reports.")])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "The printer is done."],
        ]
        let harness = try await RuntimeHarness.start(
            try Self.scenario(reports: 16, workerSystem: "You print reports", leading: coordinator), configure: Self.smallWindow)
        do {
            let server = harness.server
            let printerReply = try await server.post("/v1/agents", [
                "name": "printer", "model": "mock-model", "system": "You print reports.", "tools": fullToolset,
            ])
            let printer = try #require(printerReply.json["id"]?.stringValue)
            let leadReply = try await server.post("/v1/agents", [
                "name": "lead", "model": "mock-model", "system": "You coordinate the printer.", "tools": fullToolset,
                "multiagent": ["type": "coordinator", "agents": [.string(printer)]],
            ])
            let lead = try #require(leadReply.json["id"]?.stringValue)
            let session = try await server.makeRuntimeSession(agent: lead)
            try await server.say(session, "Get the reports printed.")
            let events = try await server.waitForIdle(session, timeout: .seconds(90))
            let compactions = events.filter { $0["type"] == "agent.thread_context_compacted" }
            #expect(compactions.count >= 1)
            #expect(compactions.allSatisfy { $0["session_thread_id"]?.stringValue?.hasPrefix("sthr_") == true }, "compacted in the specialist's lane")
            #expect(compactions.allSatisfy { $0["summary"]?.stringValue?.contains("4417") == true })
            for request in await harness.mock.requests() {
                #expect(Self.requestTokens(request) < Self.window, "a \(request.rule ?? "?") request of \(Self.requestTokens(request)) tokens")
            }
            #expect(events.last { $0["type"] == "agent.message" && $0["session_thread_id"] == nil }?.contentText == "The printer is done.")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test(arguments: [ProviderKind.anthropic, .openai])
    func aRequestTheModelRefusesAsTooLongIsCompactedAndSentAgain(kind: ProviderKind) async throws {
        // The window is the default (the estimate sees no need to compact); the model refuses
        // once anyway.
        let json: JSONValue = [
            "rules": [
                ["name": "compactor", "system_contains": .string(CompactionPrompt.marker), "reply": "Summary: two checks ran."],
                [
                    "name": "overflow", "last_user_contains": "second check", "times": 1, "fail_with": 400,
                    "error_message": "prompt is too long: 210000 tokens > 200000 maximum",
                ],
                [
                    "name": "worker",
                    "sequence": [
                        ["reply": [["type": "tool_use", "name": "bash", "input": ["command": "echo first check"]]]],
                        ["reply": [["type": "tool_use", "name": "bash", "input": ["command": "echo second check"]]]],
                        ["reply": "Both checks ran."],
                    ],
                ],
            ],
        ]
        try await RuntimeHarness.with(try MockScenario(json: JSONCoding.data(json)), kind: kind) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "Run the checks.")
            let events = try await server.waitForIdle(session, timeout: .seconds(30))
            #expect(events.count(ofType: "agent.thread_context_compacted") == 1)
            #expect(!events.contains { $0["type"] == "session.error" })
            #expect(events.last { $0["type"] == "agent.message" }?.contentText == "Both checks ran.")
            let rules = await harness.mock.requests().compactMap(\.rule)
            #expect(rules == ["worker", "worker", "overflow", "compactor", "worker"])
        }
    }

    @Test func aConversationThatCannotBeCompactedStopsWithTheCompactionLimitError() async throws {
        // One user message larger than the whole window: nothing before it can be summarised.
        let harness = try await RuntimeHarness.start(try Self.scenario(reports: 1), configure: Self.smallWindow)
        do {
            let session = try await harness.server.makeRuntimeSession()
            try await harness.server.say(session, String(repeating: "far too long ", count: Self.window / 2))
            let events = try await harness.server.waitForIdle(session)
            let error = try #require(events.last { $0["type"] == "session.error" })
            #expect(error["error"]?["type"] == "compaction_limit_reached_error")
            #expect(error["error"]?["retry_status"]?["type"] == "exhausted")
            let idle = try #require(events.last { $0["type"] == "session.status_idle" })
            #expect(idle["stop_reason"]?["type"] == "retries_exhausted")
            #expect(await harness.mock.requests().filter { $0.rule == "worker" }.isEmpty, "no request that cannot fit was sent")
            // The next message starts a new turn.
            try await harness.server.say(session, "What is the launch code?")
            try await harness.server.waitForIdle(session, count: 2)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}

/// Prompt caching: Anthropic requests mark their stable prefix and conversation, consecutive
/// steps send the same prefix, and the usage reports the cache reads.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PromptCachingTests {
    static func breakpoints(_ value: JSONValue) -> Int {
        switch value {
        case .object(let members): (members["cache_control"] == nil ? 0 : 1) + members.values.map(breakpoints).reduce(0, +)
        case .array(let items): items.map(breakpoints).reduce(0, +)
        default: 0
        }
    }

    @Test(arguments: [ProviderKind.anthropic, .openai])
    func consecutiveStepsSendTheSamePrefix(kind: ProviderKind) async throws {
        try await RuntimeHarness.with(try CompactionTests.scenario(reports: 4), kind: kind) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession(agent: try await server.makeAgent(system: "You print reports when asked."))
            try await server.say(session, "Print the reports.")
            try await server.waitForIdle(session, timeout: .seconds(30))
            let requests = await harness.mock.requests().filter { $0.rule == "worker" }
            #expect(requests.count == 5)
            for (previous, next) in zip(requests, requests.dropFirst()) {
                let sent = previous.messages, following = next.messages
                #expect(following.count > sent.count)
                switch kind {
                case .anthropic:
                    // Byte for byte (re-encoded canonically) the tools and system prompt, with
                    // their breakpoints; the earlier messages once the moving breakpoints are set aside.
                    #expect(try JSONCoding.data(previous.body["tools"]) == JSONCoding.data(next.body["tools"]))
                    #expect(try JSONCoding.data(previous.body["system"]) == JSONCoding.data(next.body["system"]))
                    #expect(Array(following.prefix(sent.count)).map(\.withoutCacheControl) == sent.map(\.withoutCacheControl))
                case .openai:
                    #expect(try JSONCoding.data(previous.body["tools"]) == JSONCoding.data(next.body["tools"]))
                    #expect(try JSONCoding.data(JSONValue.array(Array(following.prefix(sent.count)))) == JSONCoding.data(JSONValue.array(sent)))
                }
            }
            guard kind == .anthropic else { return }
            for request in requests {
                #expect(request.body["tools"]?.arrayValue?.last?["cache_control"]?["type"] == "ephemeral")
                #expect(request.body["system"]?.arrayValue?.first?["cache_control"]?["type"] == "ephemeral")
                #expect(request.messages.last?["content"]?.arrayValue?.last?["cache_control"] != nil)
                #expect(Self.breakpoints(request.body) <= 4)
            }
            // From the second step on, the prefix is read from the (simulated) cache.
            let usage = try await server.session(session)["usage"]
            let read = usage?["cache_read_input_tokens"]?.intValue ?? 0
            let input = usage?["input_tokens"]?.intValue ?? 0
            #expect(read > input, "cache reads \(read) vs uncached input \(input)")
            #expect((usage?["cache_creation"]?["ephemeral_5m_input_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func oneOffRequestsAndDisabledCachingCarryNoBreakpoints() {
        let request = ModelRequest(model: "m", system: "be brief", messages: [.user("hi")], tools: [ToolDefinition(name: "t", description: "d", inputSchema: ["type": "object"])])
        #expect(Self.breakpoints(AnthropicWire.requestBody(request, stream: false, caching: false)) == 0)
        var cached = request
        cached.promptCaching = true
        #expect(Self.breakpoints(AnthropicWire.requestBody(cached, stream: false, caching: true)) == 3)
        #expect(AnthropicWire.requestBody(request, stream: false, caching: false)["system"] == "be brief")
    }
}
