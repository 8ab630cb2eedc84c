import Foundation

/// Reads a generic trajectory: JSON Lines, one turn per line, the whole file one transcript.
///
/// ```
/// {"role": "user", "content": "Fix the failing test"}
/// {"role": "assistant", "content": "Running it.", "tool_name": "bash", "tool_input": {"command": "make test"}, "tool_use_id": "t1"}
/// {"role": "tool", "tool_use_id": "t1", "content": "1 failed", "is_error": true}
/// {"role": "assistant", "content": "Fixed."}
/// {"success": true, "reward": 0.9}
/// ```
///
/// `content` is a string or text blocks. A tool turn without `tool_use_id` answers the oldest
/// unanswered call. `success` and `reward` may be on any line; `title`, `id` and `metadata`
/// (string values) on lines of their own. `system` turns are left out.
enum JSONLTrajectory {
    static let roles = "user, assistant, tool or system"

    static func parse(_ data: Data, file: String) throws(TranscriptParseError) -> ImportedTranscript {
        var transcript = ImportedTranscript(format: .jsonl, origin: file)
        var pending: [String] = []
        var generatedIDs = 0
        var systemTurns = 0
        for (line, value) in try JSONLines.parse(data, file: file) {
            func failure(_ message: String) -> TranscriptParseError { TranscriptParseError(origin: file, line: line, message: message) }
            guard case .object(let members) = value else { throw failure("expected a JSON object, got \(value.typeName)") }
            let outcome = try JSONLines.outcome(value, file: file, line: line)
            if let success = outcome.success { transcript.success = success }
            if let reward = outcome.reward { transcript.reward = reward }
            guard let roleValue = value["role"] else {
                // A line about the whole trajectory.
                let known: Set<String> = ["success", "reward", "title", "id", "metadata"]
                if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
                    throw failure("a line needs a 'role' (\(roles)) or only success, reward, title, id and metadata; found '\(unknown.prefix(40))'")
                }
                if let title = value["title"]?.stringValue { transcript.title = title }
                if let id = value["id"]?.stringValue { transcript.sourceID = id }
                if let metadata = value["metadata"] {
                    guard case .object(let pairs) = metadata else { throw failure("metadata: expected an object of strings") }
                    for (key, member) in pairs {
                        guard case .string(let text) = member else { throw failure("metadata.\(key): expected a string, got \(member.typeName)") }
                        transcript.metadata[key] = text
                    }
                }
                continue
            }
            guard case .string(let role) = roleValue else { throw failure("role: expected a string, got \(roleValue.typeName)") }
            let text = JSONLines.text(of: value["content"])
            switch role {
            case "system":
                systemTurns += 1
            case "user":
                transcript.addUser(text)
            case "assistant", "agent":
                transcript.addAgent(text)
                guard let nameValue = value["tool_name"] else { break }
                guard case .string(let name) = nameValue, !name.isEmpty else { throw failure("tool_name: expected a non-empty string") }
                var id = value["tool_use_id"]?.stringValue ?? ""
                if id.isEmpty {
                    generatedIDs += 1
                    id = "call_\(generatedIDs)"
                }
                let input: [String: JSONValue] =
                    switch value["tool_input"] {
                    case .object(let members)?: members
                    case nil, .null?: [:]
                    case let other?: ["input": other]
                    }
                pending.append(id)
                transcript.addToolUse(id: id, name: name, input: input)
            case "tool":
                let id: String
                if let given = value["tool_use_id"]?.stringValue {
                    guard transcript.hasToolUse(id: given) else { throw failure("tool_use_id: no earlier tool call has id '\(given.prefix(80))'") }
                    id = given
                } else {
                    guard let oldest = pending.first else { throw failure("a tool turn with no tool call before it to answer") }
                    id = oldest
                }
                pending.removeAll { $0 == id }
                let isError: Bool
                switch value["is_error"] {
                case nil, .null?: isError = false
                case .bool(let flag)?: isError = flag
                case let other?: throw failure("is_error: expected true or false, got \(other.typeName)")
                }
                transcript.addToolResult(toolUseID: id, output: text, isError: isError, line: line)
            default:
                throw failure("unknown role '\(role.prefix(40))'; expected \(roles)")
            }
        }
        if systemTurns > 0 { transcript.skipped.append("\(systemTurns) system turn(s) left out") }
        try transcript.finish()
        return transcript
    }
}
