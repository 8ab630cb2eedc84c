import Foundation
import Testing
@testable import ReverieCore

/// The transcript readers of `reverie import`: what each format becomes, what is left out,
/// and errors that name the file and line.
@Suite(.timeLimit(.minutes(3))) struct TranscriptParsingTests {
    typealias Turn = ImportedTranscript.Turn

    func parse(_ format: TranscriptFormat, _ text: String, file: String = "t.jsonl") throws -> [ImportedTranscript] {
        try format.parse(Data(text.utf8), file: file)
    }

    func parseError(_ format: TranscriptFormat, _ text: String, file: String = "t.jsonl") -> String {
        do {
            _ = try format.parse(Data(text.utf8), file: file)
            return "no error"
        } catch {
            return error.description
        }
    }

    // MARK: Claude Code

    @Test func claudeCodeSessionBecomesTurnsWithToolCallsAndResults() throws {
        let transcripts = try parse(.claudeCode, TranscriptFixtures.claudeCode, file: "session.jsonl")
        #expect(transcripts.count == 1)
        let transcript = try #require(transcripts.first)
        #expect(transcript.turns == [
            .user("The tests fail with ImportError. Please fix them."),
            .agent("Let me run the tests."),
            .toolUse(id: "toolu_01", name: "Bash", input: ["command": "pytest -q", "description": "Run tests"]),
            .toolResult(toolUseID: "toolu_01", output: "Exit code 1\nE   ModuleNotFoundError: No module named 'app.utils'", isError: true),
            .toolUse(id: "toolu_02", name: "Edit", input: [
                "file_path": "/home/dev/app/tests/test_app.py", "old_string": "from app.utils import x", "new_string": "from app.helpers import x",
            ]),
            .toolResult(toolUseID: "toolu_02", output: "The file has been updated.", isError: false),
            .agent("Fixed the import; the tests should pass now."),
            .user("No, that is wrong. In this repo we always run ./scripts/test.sh, never pytest directly. See docs/testing.md."),
        ])
        #expect(transcript.title == "Fix the failing import in the test suite")
        #expect(transcript.sourceID == "cc-session-42")
        #expect(transcript.format == .claudeCode)
        #expect(transcript.metadata == [
            "cwd": "/home/dev/app", "git_branch": "main", "claude_code_version": "2.0.14", "model": "claude-sonnet-4-5-20250929",
            "started_at": "2025-10-01T09:00:00.000Z",
        ])
        #expect(transcript.success == nil && transcript.reward == nil)
        #expect(transcript.skipped.contains("1 sub-agent (sidechain) line(s) left out"))
        #expect(transcript.skipped.contains("1 injected (isMeta) line(s) left out"))
        #expect(transcript.skipped.contains("1 compaction summary line(s) left out"))
    }

    @Test func claudeCodeErrorsNameTheFileAndLine() {
        let broken = TranscriptFixtures.claudeCode.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n{\"type\":\"user\",\"message\":\n"
        #expect(parseError(.claudeCode, broken, file: "s.jsonl").hasPrefix("s.jsonl: line 3: not valid JSON"))
        #expect(parseError(.claudeCode, "{\"type\":\"user\",\"message\":\"hi\"}\n", file: "s.jsonl")
            == "s.jsonl: line 1: a user line needs a 'message' object")
        #expect(parseError(.claudeCode, "[1, 2]\n", file: "s.jsonl") == "s.jsonl: line 1: expected a JSON object, got array")
        let toolUseWithoutID = #"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Bash"}]}}"#
        #expect(parseError(.claudeCode, toolUseWithoutID, file: "s.jsonl") == "s.jsonl: line 1: message.content[0]: a tool_use block needs 'id' and 'name'")
        #expect(parseError(.claudeCode, #"{"type":"summary","summary":"x"}"#, file: "s.jsonl") == "s.jsonl: no user, assistant or tool turns found (is it a claude-code file?)")
        #expect(parseError(.claudeCode, "", file: "s.jsonl") == "s.jsonl: no user, assistant or tool turns found (is it a claude-code file?)")
    }

    @Test func claudeCodeResultWithoutItsCallIsLeftOutAndNoted() throws {
        let text = """
            {"type":"user","message":{"role":"user","content":"continue"}}
            {"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_gone","content":"ok"}]}}
            {"type":"assistant","message":{"role":"assistant","content":"Done."}}
            """
        let transcript = try #require(try parse(.claudeCode, text).first)
        #expect(transcript.turns == [.user("continue"), .agent("Done.")])
        #expect(transcript.skipped == ["line 2: result of tool call 'toolu_gone', which is not in the transcript, left out"])
        #expect(transcript.title == "continue")
    }

    @Test func crlfLineEndingsAndUnicodeLineSeparatorsInsideStrings() throws {
        let text = "{\"type\":\"user\",\"message\":{\"content\":\"a\u{2028}b\"}}\r\n{\"type\":\"assistant\",\"message\":{\"content\":\"ok\"}}\r\n"
        let transcript = try #require(try parse(.claudeCode, text).first)
        #expect(transcript.turns == [.user("a\u{2028}b"), .agent("ok")])
    }

    @Test func notUTF8IsRefused() {
        #expect(throws: TranscriptParseError(origin: "bin.jsonl", line: nil, message: "not UTF-8 text")) {
            try TranscriptFormat.claudeCode.parse(Data([0xFF, 0xFE, 0x00, 0x41]), file: "bin.jsonl")
        }
    }

    @Test func longToolOutputIsCutWithAMarker() throws {
        let output = String(repeating: "x", count: ImportedTranscript.maxToolOutputCharacters + 500)
        let text = """
            {"role": "user", "content": "go"}
            {"role": "assistant", "tool_name": "bash", "tool_input": {"command": "yes"}}
            {"role": "tool", "content": "\(output)"}
            """
        let transcript = try #require(try parse(.jsonl, text).first)
        guard case .toolResult(_, let kept, _) = transcript.turns.last else { Issue.record("no tool result"); return }
        #expect(kept.hasPrefix(String(repeating: "x", count: ImportedTranscript.maxToolOutputCharacters) + "\n[… 500 characters cut on import]"))
    }

    // MARK: OpenAI chat

    @Test func openAIChatDocumentBecomesOneTranscript() throws {
        let transcripts = try parse(.openAIChat, TranscriptFixtures.openAIChat, file: "chat.json")
        #expect(transcripts.count == 1)
        let transcript = try #require(transcripts.first)
        #expect(transcript.turns == [
            .user("Tag the release for version 3.11.7."),
            .toolUse(id: "call_abc", name: "run_shell", input: ["command": "git tag v3.11.7 && git push --tags"]),
            .toolResult(toolUseID: "call_abc", output: "fatal: tag 'v3.11.7' already exists", isError: false),
            .agent("The tag already exists, so I stopped."),
        ])
        #expect(transcript.success == false)
        #expect(transcript.sourceID == "chatcmpl-log-7")
        #expect(transcript.metadata["model"] == "gpt-4o-2024-08-06")
        #expect(transcript.title == "Tag the release for version 3.11.7.")
        #expect(transcript.skipped == ["1 system/developer message(s) left out"])
    }

    @Test func openAIChatJSONLinesOfConversationsAreSeparateTranscripts() throws {
        let text = """
            {"messages": [{"role": "user", "content": "one"}, {"role": "assistant", "content": "1"}], "reward": 1}
            {"request": {"model": "gpt-4.1", "messages": [{"role": "user", "content": "two"}]}, "response": {"choices": [{"message": {"role": "assistant", "content": "2"}}]}}
            """
        let transcripts = try parse(.openAIChat, text, file: "log.jsonl")
        #expect(transcripts.map(\.origin) == ["log.jsonl:1", "log.jsonl:2"])
        #expect(transcripts[0].turns == [.user("one"), .agent("1")])
        #expect(transcripts[0].reward == 1)
        #expect(transcripts[1].turns == [.user("two"), .agent("2")])
        #expect(transcripts[1].metadata["model"] == "gpt-4.1")
    }

    @Test func openAIChatOneMessagePerLineIsOneTranscript() throws {
        let text = """
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "not json"}}, {"id": "c2", "function": {"name": "g", "arguments": ""}}]}
            {"role": "tool", "tool_call_id": "c2", "content": "G"}
            {"role": "tool", "content": "F"}
            {"reward": 0.5}
            """
        let transcripts = try parse(.openAIChat, text)
        #expect(transcripts.count == 1)
        #expect(transcripts[0].turns == [
            .user("look\n[image]"),
            .toolUse(id: "c1", name: "f", input: ["arguments": "not json"]),
            .toolUse(id: "c2", name: "g", input: [:]),
            .toolResult(toolUseID: "c2", output: "G", isError: false),
            .toolResult(toolUseID: "c1", output: "F", isError: false),
        ])
        #expect(transcripts[0].reward == 0.5)
    }

    @Test func openAIChatErrorsNameTheLine() {
        let text = """
            {"role": "user", "content": "hi"}
            {"role": "wizard", "content": "?"}
            """
        #expect(parseError(.openAIChat, text, file: "c.jsonl")
            == "c.jsonl: line 2: message: unknown role 'wizard'; expected system, developer, user, assistant, tool or function")
        let conversations = """
            {"messages": [{"role": "user", "content": "one"}]}
            {"messages": "nope"}
            """
        #expect(parseError(.openAIChat, conversations, file: "c.jsonl")
            == "c.jsonl: line 2: expected {\"messages\": […]} or {\"request\": {\"messages\": […]}, \"response\": …}")
        #expect(parseError(.openAIChat, "{\"messages\": [{\"content\": \"x\"}]}", file: "c.json") == "c.json: messages[0]: a message needs a 'role'")
        #expect(parseError(.openAIChat, "{\n  \"messages\": [\n", file: "c.json").hasPrefix("c.json: not valid JSON"))
        #expect(parseError(.openAIChat, "{\"messages\": [], \"success\": \"yes\"}", file: "c.json") == "c.json: success: expected true or false, got string")
    }

    // MARK: generic JSONL

    @Test func trajectoryWithOutcomeLine() throws {
        let transcript = try #require(try parse(.jsonl, TranscriptFixtures.trajectory).first)
        #expect(transcript.turns == [
            .user("Count the lines in data.csv"),
            .agent("Counting."),
            .toolUse(id: "call_1", name: "bash", input: ["command": "wc -l data.csv"]),
            .toolResult(toolUseID: "call_1", output: "1042 data.csv", isError: false),
            .agent("data.csv has 1042 lines."),
        ])
        #expect(transcript.success == true)
        #expect(transcript.reward == 0.75)
        #expect(transcript.title == "Line count")
        #expect(transcript.skipped == ["1 system turn(s) left out"])
    }

    @Test func trajectoryErrorsNameTheLine() {
        #expect(parseError(.jsonl, "{\"role\": \"user\", \"content\": \"x\"}\n{\"role\": \"tool\", \"content\": \"out\"}", file: "tr.jsonl")
            == "tr.jsonl: line 2: a tool turn with no tool call before it to answer")
        #expect(parseError(.jsonl, "{\"role\": \"robot\"}", file: "tr.jsonl") == "tr.jsonl: line 1: unknown role 'robot'; expected user, assistant, tool or system")
        #expect(parseError(.jsonl, "{\"speaker\": \"user\"}", file: "tr.jsonl")
            == "tr.jsonl: line 1: a line needs a 'role' (user, assistant, tool or system) or only success, reward, title, id and metadata; found 'speaker'")
        let badError = "{\"role\": \"assistant\", \"tool_name\": \"t\", \"tool_use_id\": \"a\"}\n{\"role\": \"tool\", \"tool_use_id\": \"a\", \"is_error\": \"yes\"}"
        #expect(parseError(.jsonl, badError, file: "tr.jsonl") == "tr.jsonl: line 2: is_error: expected true or false, got string")
        #expect(parseError(.jsonl, "{\"role\": \"user\", \"content\": \"x\"}\n{\"reward\": \"high\"}", file: "tr.jsonl")
            == "tr.jsonl: line 2: reward: expected a number, got string")
        #expect(parseError(.jsonl, "{\"role\": \"tool\", \"tool_use_id\": \"zz\"}", file: "tr.jsonl")
            == "tr.jsonl: line 1: tool_use_id: no earlier tool call has id 'zz'")
    }

    // MARK: the import request

    /// What a reader produces is exactly what the server accepts: the body parses, each tool
    /// result names its call's event, and the marker carries source, id and verdict.
    @Test func requestBodyParsesAsAnImportRequest() throws {
        let transcript = try #require(try parse(.claudeCode, TranscriptFixtures.claudeCode).first)
        let request = try SessionImportRequest(ObjectReader(transcript.requestBody(agentID: "agent_x", environmentID: "env_x")))
        #expect(request.environmentID == "env_x")
        #expect(request.title == "Fix the failing import in the test suite")
        #expect(request.imported == SessionImport(source: "claude-code", sourceID: "cc-session-42"))
        #expect(request.metadata["cwd"] == "/home/dev/app")
        #expect(request.events.map(\.type) == [
            .userMessage, .agentMessage, .agentToolUse, .agentToolResult, .agentToolUse, .agentToolResult, .agentMessage, .userMessage,
        ])
        #expect(request.events[3].fields["tool_use_id"]?.stringValue == request.events[2].id)
        #expect(request.events[5].fields["tool_use_id"]?.stringValue == request.events[4].id)
        #expect(request.events[3].fields["is_error"] == true)
        #expect(request.events[3].text.contains("ModuleNotFoundError"))
        #expect(request.events[2].fields["input"]?["command"] == "pytest -q")
        #expect(Set(request.events.map(\.id)).count == request.events.count)
    }

    @Test func importRequestRefusesWhatItCannotKeep() throws {
        func refusal(_ body: JSONValue) -> String {
            do {
                _ = try SessionImportRequest(ObjectReader(body))
                return "accepted"
            } catch {
                return error.message
            }
        }
        let base: [String: JSONValue] = [
            "agent": "agent_x", "environment_id": "env_x", "source": "jsonl",
            "events": [["type": "user.message", "content": [["type": "text", "text": "hi"]]]],
        ]
        func with(_ key: String, _ value: JSONValue?) -> JSONValue {
            var body = base
            body[key] = value
            return .object(body)
        }
        #expect(refusal(.object(base)) == "accepted")
        #expect(refusal(with("events", [])) == "events: must have 1-10000 entries (got 0)")
        #expect(refusal(with("events", nil)) == "events: required")
        #expect(refusal(with("source", nil)) == "source: required")
        #expect(refusal(with("source", "Claude Code")).hasPrefix("source: must use only lowercase letters"))
        #expect(refusal(with("reward", "high")) == "reward: expected a finite number, got string")
        #expect(refusal(with("success", 1)) == "success: expected a boolean, got number")
        #expect(refusal(with("status", "idle")) == "status: unknown field")
        #expect(refusal(with("events", [["type": "session.status_idle"]]))
            == "events[0].type: 'session.status_idle' cannot be imported; expected one of user.message, agent.message, agent.tool_use, agent.tool_result")
        #expect(refusal(with("events", [["type": "agent.tool_result", "tool_use_id": "t1"]]))
            == "events[0].tool_use_id: no earlier agent.tool_use in this import has id 't1'")
        #expect(refusal(with("events", [["type": "agent.tool_use", "id": "t1", "name": "bash", "input": "ls"]]))
            == "events[0].input: expected an object, got string")
        #expect(refusal(with("events", [["type": "agent.message", "content": [["type": "image", "source": ["type": "url", "url": "u"]]]]]))
            == "events[0].content[0].type: unsupported block type 'image'; expected text")
        #expect(refusal(with("events", [["type": "user.message", "content": []]])) == "events[0].content: must not be empty")
        #expect(refusal(with("metadata", ["k": 1])) == "metadata.k: metadata values must be strings, got number")
    }
}
