import Foundation
import ReverieCore
import ReverieExecution
import ReverieRuntime
import Testing

/// `POST /v1/sessions/import` and `reverie import` over a real server: imported sessions are
/// marked, finished and read-only, bad input changes nothing, and dreams cite their events.
@Suite(.timeLimit(.minutes(3))) struct SessionImportTests {
    static func body(_ format: TranscriptFormat, _ text: String, agent: String, environment: String) throws -> JSONValue {
        let transcript = try #require(try format.parse(Data(text.utf8), file: "fixture").first)
        return transcript.requestBody(agentID: agent, environmentID: environment)
    }

    /// The events of a session, oldest first.
    static func events(_ server: TestServer, _ session: String) async throws -> [JSONValue] {
        try await server.get("/v1/sessions/\(session)/events?limit=1000").json["data"]?.arrayValue ?? []
    }

    @Test func anImportedSessionIsMarkedFinishedAndReadOnly() async throws {
        let server = try await TestServer.start()
        try await run({
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let reply = try await server.post("/v1/sessions/import", try Self.body(.claudeCode, TranscriptFixtures.claudeCode, agent: agent, environment: environment))
            #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
            let id = try #require(reply.json["id"]?.stringValue)
            #expect(reply.json["status"] == "terminated")
            #expect(reply.json["imported"] == ["source": "claude-code", "source_id": "cc-session-42", "success": nil, "reward": nil])
            #expect(reply.json["title"] == "Fix the failing import in the test suite")
            #expect(reply.json["metadata"]?["git_branch"] == "main")
            #expect(reply.json["agent"]?["id"]?.stringValue == agent)

            let fetched = try await server.get("/v1/sessions/\(id)")
            #expect(fetched.json["imported"]?["source"] == "claude-code")
            // Sessions Reverie runs carry no such member.
            let ordinary = try await server.makeSession()
            #expect(try await server.get("/v1/sessions/\(ordinary)").json.objectValue?["imported"] == nil)

            let events = try await Self.events(server, id)
            #expect(events.compactMap { $0["type"]?.stringValue } == [
                "user.message", "agent.message", "agent.tool_use", "agent.tool_result", "agent.tool_use", "agent.tool_result", "agent.message",
                "user.message",
            ])
            #expect(events[3]["tool_use_id"] == events[2]["id"])
            #expect(events[5]["tool_use_id"] == events[4]["id"])
            #expect(events[3]["is_error"] == true)
            #expect(events[2]["name"] == "Bash" && events[2]["input"]?["command"] == "pytest -q")
            #expect(events[7]["content"]?[0]?["text"]?.stringValue?.contains("./scripts/test.sh") == true)

            // Read-only: events are refused in the API's error format, and nothing is appended.
            let send = try await server.post("/v1/sessions/\(id)/events", ["events": [["type": "user.message", "content": [["type": "text", "text": "more"]]]]])
            #expect(send.status == 400)
            #expect(send.errorType == "invalid_request_error")
            let message = send.json["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("imported") && message.contains("read-only"), "\(message)")
            let interrupt = try await server.post("/v1/sessions/\(id)/events", ["events": [["type": "user.interrupt"]]])
            #expect(interrupt.status == 400)
            #expect(try await Self.events(server, id).count == 8)
            // It is listed with the finished sessions, and the runtime never picked it up.
            let terminated = try await server.get("/v1/sessions?statuses[]=terminated")
            #expect(terminated.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
            #expect(try await server.get("/v1/sessions/\(id)").json["status"] == "terminated")
        }, thenStop: server.stop)
    }

    @Test func badImportsAreRefusedAndCreateNothing() async throws {
        let server = try await TestServer.start()
        try await run({
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let good = try Self.body(.jsonl, TranscriptFixtures.trajectory, agent: agent, environment: environment)
            func with(_ change: (inout [String: JSONValue]) -> Void) -> JSONValue {
                var body = good.objectValue ?? [:]
                change(&body)
                return .object(body)
            }
            let cases: [(JSONValue, String)] = [
                (with { $0["agent"] = "agent_missing" }, "agent: agent 'agent_missing' not found"),
                (with { $0["environment_id"] = "env_missing" }, "environment_id: environment 'env_missing' not found"),
                (with { $0["events"] = [["type": "agent.tool_result", "tool_use_id": "x"]] }, "events[0].tool_use_id: no earlier agent.tool_use"),
                (with { $0["events"] = [["type": "span.model_request_start"]] }, "cannot be imported"),
                (with { $0["reward"] = "lots" }, "reward: expected a finite number"),
                (with { $0["id"] = "sesn_mine" }, "id: unknown field"),
            ]
            for (body, expected) in cases {
                let reply = try await server.post("/v1/sessions/import", body)
                #expect(reply.status == 400 && reply.errorType == "invalid_request_error")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(expected) == true, "\(String(decoding: reply.body, as: UTF8.self))")
            }
            let notJSON = try await server.request(.POST, "/v1/sessions/import", rawBody: Data("{\"events\": [".utf8), headers: [
                ("x-api-key", TestServer.apiKey), ("content-type", "application/json"),
            ])
            #expect(notJSON.status == 400)
            let unauthenticated = try await server.request(.POST, "/v1/sessions/import", json: good, headers: [])
            #expect(unauthenticated.status == 401)
            #expect(try await server.get("/v1/sessions?include_archived=true").json["data"]?.arrayValue?.isEmpty == true)

            let reply = try await server.post("/v1/sessions/import", good)
            #expect(reply.status == 200)
            #expect(reply.json["imported"] == ["source": "jsonl", "source_id": nil, "success": true, "reward": 0.75])
        }, thenStop: server.stop)
    }

    /// The issue's check: an imported Claude Code transcript and an OpenAI chat log are
    /// sessions whose events a dream reads and cites.
    @Test func aDreamCitesEventsOfImportedTranscripts() async throws {
        let lesson = "Run ./scripts/test.sh, never pytest directly."
        let operations: JSONValue = [
            ["op": "add", "path": "/lessons/tests.md", "content": .string(lesson), "rationale": "the user corrected the agent",
             "evidence": [["session": "S1", "events": ["e4", "e8"]]]],
            ["op": "add", "path": "/lessons/tags.md", "content": "Check whether a release tag exists before creating it.",
             "rationale": "tagging failed", "evidence": [["session": "S2", "events": ["e3"]]]],
        ]
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: operations)) { fixture in
            let server = fixture.server
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            var sessions: [String] = []
            for (format, text) in [(TranscriptFormat.claudeCode, TranscriptFixtures.claudeCode), (.openAIChat, TranscriptFixtures.openAIChat)] {
                let reply = try await server.post("/v1/sessions/import", try Self.body(format, text, agent: agent, environment: environment))
                sessions.append(try #require(reply.json["id"]?.stringValue, "\(String(decoding: reply.body, as: UTF8.self))"))
            }
            let store = try await fixture.makeStore([])
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .completed, "\(String(describing: dream.error))")

            // The dreamer read both transcripts: marked as imported, the user's correction verbatim.
            let extract = try #require(await fixture.mock.requests().first { $0.rule == "extract" })
            let extraction = String(decoding: try JSONCoding.data(extract.body), as: UTF8.self)
            #expect(extraction.contains("imported transcript (claude-code): work done elsewhere, not run by Reverie"))
            #expect(extraction.contains("imported transcript (openai-chat)"))
            #expect(extraction.contains("outcome: failed (as the transcript records)"))
            #expect(extraction.contains("we always run ./scripts/test.sh, never pytest directly. See docs/testing.md."))
            #expect(extraction.contains("TOOL ERROR Bash"))

            // Its operations cite the imported sessions' own events.
            let claudeEvents = try await Self.events(server, sessions[0])
            let chatEvents = try await Self.events(server, sessions[1])
            let report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            let byPath = Dictionary(report.operations.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
            let tests = try #require(byPath["/lessons/tests.md"], "\(report.refused)")
            #expect(tests.evidence.map(\.sessionID) == [sessions[0]])
            #expect(tests.evidence.first?.eventIDs == [
                try #require(claudeEvents[3]["id"]?.stringValue), try #require(claudeEvents[7]["id"]?.stringValue),
            ])
            #expect(claudeEvents[3]["type"] == "agent.tool_result" && claudeEvents[7]["type"] == "user.message")
            // Reviewers see the cited imported events quoted as the dreamer read them.
            let quotes = tests.evidence.first?.quotes.map(\.text) ?? []
            #expect(quotes.count == 2 && quotes[0].contains("TOOL ERROR Bash") && quotes[1].contains("./scripts/test.sh"), "\(quotes)")
            let tags = try #require(byPath["/lessons/tags.md"], "\(report.refused)")
            #expect(tags.evidence.map(\.sessionID) == [sessions[1]])
            #expect(tags.evidence.first?.eventIDs == [try #require(chatEvents[2]["id"]?.stringValue)])
            #expect(chatEvents[2]["type"] == "agent.tool_result")
            #expect(try await fixture.contents(try #require(dream.outputStoreID))["/lessons/tests.md"] == lesson)
        }
    }

    /// `reverie import` as a user runs it: each new session's id on its own line, the default
    /// agent made once and reused, and a bad file reported by name and line with nothing sent.
    @Test func theCommandLineImportsFilesAndPrintsSessionIDs() async throws {
        let server = try await TestServer.start()
        try await run({
            let directory = TemporaryDirectory.make()
            let claude = directory + "/session.jsonl"
            let chat = directory + "/chat.json"
            let trajectory = directory + "/trajectory.jsonl"
            let broken = directory + "/broken.jsonl"
            try TranscriptFixtures.claudeCode.write(toFile: claude, atomically: true, encoding: .utf8)
            try TranscriptFixtures.openAIChat.write(toFile: chat, atomically: true, encoding: .utf8)
            try TranscriptFixtures.trajectory.write(toFile: trajectory, atomically: true, encoding: .utf8)
            try "{\"role\": \"user\", \"content\": \"hi\"}\n{\"role\": \"tool\"}\n".write(toFile: broken, atomically: true, encoding: .utf8)
            let connection = ["--url", server.baseURL, "--api-key", TestServer.apiKey]

            let dryRun = try await CommandLineRun.reverie(["import", "claude-code", claude, "--dry-run"], in: directory)
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout == "\(claude)\tFix the failing import in the test suite\t2 agent.message, 2 agent.tool_result, 2 agent.tool_use, 2 user.message\n")
            #expect(dryRun.stderr.contains("note: \(claude): 1 sub-agent (sidechain) line(s) left out"))

            let first = try await CommandLineRun.reverie(["import", "claude-code", claude] + connection, in: directory)
            #expect(first.status == 0, "\(first.stderr)")
            let firstIDs = first.stdout.split(separator: "\n").map(String.init)
            #expect(firstIDs.count == 1 && firstIDs[0].hasPrefix("sesn_"), "\(first.stdout)")

            let second = try await CommandLineRun.reverie(
                ["import", "openai-chat", chat, "--metadata", "team=release", "--success", "true"] + connection, in: directory)
            #expect(second.status == 0, "\(second.stderr)")
            let secondIDs = second.stdout.split(separator: "\n").map(String.init)
            #expect(secondIDs.count == 1)

            let a = try await server.get("/v1/sessions/\(firstIDs.first ?? "")").json
            let b = try await server.get("/v1/sessions/\(secondIDs.first ?? "")").json
            #expect(a["imported"]?["source"] == "claude-code")
            #expect(b["imported"]?["source"] == "openai-chat" && b["imported"]?["success"] == true)
            #expect(b["metadata"]?["team"] == "release")
            #expect(a["agent"]?["name"] == "Imported transcripts")
            #expect(a["agent"]?["id"] == b["agent"]?["id"] && a["environment_id"] == b["environment_id"])
            #expect(try await server.get("/v1/agents").json["data"]?.arrayValue?.count == 1)

            // Every file is read before anything is sent: the good trajectory is not imported either.
            let bad = try await CommandLineRun.reverie(["import", "jsonl", trajectory, broken] + connection, in: directory)
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("\(broken): line 2: a tool turn with no tool call before it to answer"), "\(bad.stderr)")
            #expect(bad.stdout.isEmpty)
            #expect(try await server.get("/v1/sessions?include_archived=true").json["data"]?.arrayValue?.count == 2)
        }, thenStop: server.stop)
    }
}

/// Runs the built `reverie` executable, its output written to files (so a full pipe never
/// blocks it) and its exit awaited without blocking a thread.
enum CommandLineRun {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func reverie(_ arguments: [String], in directory: String) async throws -> Result {
        var environment = ProcessInfo.processInfo.environment
        environment["REVERIE_URL"] = nil
        environment["REVERIE_API_KEY"] = nil
        let ended = try await ChildProcess.run(TestBinaries.reverie, arguments: arguments, environment: environment)
        return Result(status: ended.status, stdout: String(decoding: ended.output, as: UTF8.self), stderr: String(decoding: ended.errors, as: UTF8.self))
    }
}
