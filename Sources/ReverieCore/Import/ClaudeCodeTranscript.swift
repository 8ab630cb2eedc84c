import Foundation

/// Reads a Claude Code session file: JSON Lines whose `user` and `assistant` lines hold the
/// conversation (`message.content` a string or blocks: text, thinking, tool_use, tool_result).
/// `summary` lines give the title; other lines (system, snapshots), sub-agent
/// (`isSidechain`) and injected (`isMeta`) lines, and the summaries `/compact` writes as user
/// lines (`isCompactSummary`) are left out. Thinking is left out too: Reverie's
/// `agent.thinking` events carry no text.
enum ClaudeCodeTranscript {
    static func parse(_ data: Data, file: String) throws(TranscriptParseError) -> ImportedTranscript {
        var transcript = ImportedTranscript(format: .claudeCode, origin: file)
        var sidechainLines = 0
        var metaLines = 0
        var compactSummaries = 0
        for (line, value) in try JSONLines.parse(data, file: file) {
            func failure(_ message: String) -> TranscriptParseError { TranscriptParseError(origin: file, line: line, message: message) }
            guard case .object = value else { throw failure("expected a JSON object, got \(value.typeName)") }
            let type = value["type"]?.stringValue ?? ""
            if type == "summary" {
                if transcript.title == nil, let summary = value["summary"]?.stringValue { transcript.title = summary }
                continue
            }
            guard type == "user" || type == "assistant" else { continue }
            if value["isSidechain"]?.boolValue == true {
                sidechainLines += 1
                continue
            }
            if value["isMeta"]?.boolValue == true {
                metaLines += 1
                continue
            }
            if value["isCompactSummary"]?.boolValue == true {
                // The model's summary of the conversation so far, written as a user line: not the user's words.
                compactSummaries += 1
                continue
            }
            if transcript.sourceID == nil { transcript.sourceID = value["sessionId"]?.stringValue }
            for (key, member) in [("cwd", "cwd"), ("git_branch", "gitBranch"), ("claude_code_version", "version"), ("started_at", "timestamp")]
            where transcript.metadata[key] == nil {
                if let text = value[member]?.stringValue, !text.isEmpty { transcript.metadata[key] = text }
            }
            guard let message = value["message"], case .object = message else { throw failure("a \(type) line needs a 'message' object") }
            if type == "assistant", transcript.metadata["model"] == nil, let model = message["model"]?.stringValue, model != "<synthetic>" {
                transcript.metadata["model"] = model
            }
            switch message["content"] {
            case .string(let text)?:
                if type == "user" { transcript.addUser(text) } else { transcript.addAgent(text) }
            case .array(let blocks)?:
                try read(blocks, role: type, into: &transcript, line: line, failure: failure)
            case nil, .null?:
                continue
            case let other?:
                throw failure("message.content: expected a string or an array of blocks, got \(other.typeName)")
            }
        }
        if sidechainLines > 0 { transcript.skipped.append("\(sidechainLines) sub-agent (sidechain) line(s) left out") }
        if metaLines > 0 { transcript.skipped.append("\(metaLines) injected (isMeta) line(s) left out") }
        if compactSummaries > 0 { transcript.skipped.append("\(compactSummaries) compaction summary line(s) left out") }
        try transcript.finish()
        return transcript
    }

    /// Reads one message's blocks in order; consecutive text blocks become one message.
    private static func read(
        _ blocks: [JSONValue], role: String, into transcript: inout ImportedTranscript, line: Int,
        failure: (String) -> TranscriptParseError
    ) throws(TranscriptParseError) {
        var text: [String] = []
        func flush() {
            guard !text.isEmpty else { return }
            if role == "user" { transcript.addUser(text.joined(separator: "\n")) } else { transcript.addAgent(text.joined(separator: "\n")) }
            text = []
        }
        for (index, block) in blocks.enumerated() {
            switch block["type"]?.stringValue {
            case "text":
                if let value = block["text"]?.stringValue { text.append(value) }
            case "image", "document":
                if role == "user" { text.append("[\(block["type"]?.stringValue ?? "image")]") }
            case "thinking", "redacted_thinking":
                continue
            case "tool_use":
                flush()
                guard let id = block["id"]?.stringValue, !id.isEmpty, let name = block["name"]?.stringValue, !name.isEmpty else {
                    throw failure("message.content[\(index)]: a tool_use block needs 'id' and 'name'")
                }
                let input: [String: JSONValue] =
                    switch block["input"] {
                    case .object(let members)?: members
                    case nil, .null?: [:]
                    case let other?: ["input": other]
                    }
                transcript.addToolUse(id: id, name: name, input: input)
            case "tool_result":
                flush()
                guard let id = block["tool_use_id"]?.stringValue, !id.isEmpty else {
                    throw failure("message.content[\(index)]: a tool_result block needs 'tool_use_id'")
                }
                transcript.addToolResult(
                    toolUseID: id, output: JSONLines.text(of: block["content"]), isError: block["is_error"]?.boolValue ?? false, line: line)
            default:
                continue
            }
        }
        flush()
    }
}
