import Foundation

/// Reads OpenAI chat-completions conversations. A file is one of:
/// - a JSON document: `{"messages": […]}`, a request/response record, an array of messages,
///   or an array of conversations;
/// - JSON Lines of conversations (`{"messages": […]}` or `{"request": {"messages": …},
///   "response": {"choices": [{"message": …}]}}`), each line its own transcript;
/// - JSON Lines of single messages (`{"role": …}`), together one transcript, with optional
///   `{"success": …}` / `{"reward": …}` lines.
///
/// Roles: `user`, `assistant` (`content`, `refusal`, `tool_calls`, legacy `function_call`),
/// `tool` (`tool_call_id`) and legacy `function`; `system` and `developer` messages (the
/// agent's configuration, not the conversation) are left out. A conversation may carry
/// `title`, `id`, `model`, `success` and `reward`.
enum OpenAIChatTranscript {
    static func parse(_ data: Data, file: String) throws(TranscriptParseError) -> [ImportedTranscript] {
        _ = try JSONLines.text(data, file: file)
        let nonBlank = data.split(separator: 0x0A).filter { $0.contains { ![0x20, 0x09, 0x0D].contains($0) } }
        guard let firstLine = nonBlank.first else { throw TranscriptParseError(origin: file, line: nil, message: "the file is empty") }
        // Several lines, the first a JSON value on its own: JSON Lines; otherwise one document.
        let isJSONLines = nonBlank.count > 1 && (try? JSONLines.value(Data(firstLine), file: file, line: 1)) != nil
        if !isJSONLines { return try document(try JSONLines.value(data, file: file, line: nil), file: file) }

        let lines = try JSONLines.parse(data, file: file)
        if lines.contains(where: { $0.value["role"] != nil }) {
            // One message per line: the whole file is one conversation.
            var reader = Reader(transcript: ImportedTranscript(format: .openAIChat, origin: file), file: file)
            for (line, value) in lines {
                guard case .object = value else { throw TranscriptParseError(origin: file, line: line, message: "expected a JSON object, got \(value.typeName)") }
                if value["role"] == nil {
                    guard isOutcomeLine(value) else {
                        throw TranscriptParseError(
                            origin: file, line: line, message: "expected a message with a 'role' (or a line with success, reward, title or id)")
                    }
                    try reader.take(record: value, line: line)
                    continue
                }
                try reader.add(value, at: "message", line: line)
            }
            return [try reader.finish()]
        }
        return try lines.map { entry throws(TranscriptParseError) -> ImportedTranscript in
            try conversation(entry.value, file: file, line: entry.line, origin: "\(file):\(entry.line)")
        }
    }

    /// A whole-file JSON document.
    private static func document(_ value: JSONValue, file: String) throws(TranscriptParseError) -> [ImportedTranscript] {
        if case .array(let items) = value {
            guard !items.isEmpty else { throw TranscriptParseError(origin: file, line: nil, message: "the array is empty") }
            if items.allSatisfy({ $0["role"] != nil }) {
                return [try conversation(["messages": value], file: file, line: nil, origin: file)]
            }
            return try items.enumerated().map { entry throws(TranscriptParseError) -> ImportedTranscript in
                try conversation(entry.element, file: file, line: nil, origin: "\(file)[\(entry.offset)]")
            }
        }
        if value["role"] != nil { return [try conversation(["messages": [value]], file: file, line: nil, origin: file)] }
        return [try conversation(value, file: file, line: nil, origin: file)]
    }

    /// One conversation record: `{"messages": […]}` or a request/response pair.
    private static func conversation(_ record: JSONValue, file: String, line: Int?, origin: String) throws(TranscriptParseError) -> ImportedTranscript {
        // Errors name the file and line, or the array entry of a whole-file document.
        let errorOrigin = line == nil ? origin : file
        func failure(_ message: String) -> TranscriptParseError { TranscriptParseError(origin: errorOrigin, line: line, message: message) }
        guard case .object = record else { throw failure("expected a conversation object, got \(record.typeName)") }
        var reader = Reader(transcript: ImportedTranscript(format: .openAIChat, origin: origin), file: errorOrigin)
        try reader.take(record: record, line: line)
        if let request = record["request"] {
            try reader.take(record: request, line: line)
            guard let messages = request["messages"]?.arrayValue else { throw failure("request.messages: expected an array of messages") }
            for (index, message) in messages.enumerated() { try reader.add(message, at: "request.messages[\(index)]", line: line) }
            let choice = record["response"]?["choices"]?[0]?["message"] ?? record["response"]?["message"]
            if let choice { try reader.add(choice, at: "response.choices[0].message", line: line) }
        } else {
            guard let messages = record["messages"]?.arrayValue else {
                throw failure("expected {\"messages\": […]} or {\"request\": {\"messages\": […]}, \"response\": …}")
            }
            for (index, message) in messages.enumerated() { try reader.add(message, at: "messages[\(index)]", line: line) }
        }
        return try reader.finish()
    }

    private static func isOutcomeLine(_ value: JSONValue) -> Bool {
        guard let members = value.objectValue, !members.isEmpty else { return false }
        return members.keys.allSatisfy { ["success", "reward", "title", "id", "model"].contains($0) }
    }

    /// Builds one transcript from messages, matching tool results to calls.
    private struct Reader {
        var transcript: ImportedTranscript
        let file: String
        /// Calls not yet answered, oldest first: their ids and names.
        var pending: [(id: String, name: String)] = []
        var generatedIDs = 0
        var leftOut = 0

        init(transcript: ImportedTranscript, file: String) {
            self.transcript = transcript
            self.file = file
        }

        /// Takes a record's title, id, model, success and reward.
        mutating func take(record: JSONValue, line: Int?) throws(TranscriptParseError) {
            if transcript.title == nil, let title = record["title"]?.stringValue { transcript.title = title }
            if transcript.sourceID == nil, let id = record["id"]?.stringValue { transcript.sourceID = id }
            if transcript.metadata["model"] == nil, let model = record["model"]?.stringValue { transcript.metadata["model"] = model }
            let outcome = try JSONLines.outcome(record, file: file, line: line)
            if let success = outcome.success { transcript.success = success }
            if let reward = outcome.reward { transcript.reward = reward }
        }

        mutating func add(_ message: JSONValue, at field: String, line: Int?) throws(TranscriptParseError) {
            func failure(_ text: String) -> TranscriptParseError { TranscriptParseError(origin: file, line: line, message: "\(field): \(text)") }
            guard case .object = message else { throw failure("expected a message object, got \(message.typeName)") }
            guard let role = message["role"]?.stringValue else { throw failure("a message needs a 'role'") }
            switch role {
            case "system", "developer":
                leftOut += 1
            case "user":
                transcript.addUser(JSONLines.text(of: message["content"]))
            case "assistant":
                var text = JSONLines.text(of: message["content"])
                if let refusal = message["refusal"]?.stringValue, !refusal.isEmpty { text += (text.isEmpty ? "" : "\n") + refusal }
                transcript.addAgent(text)
                for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                    guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
                        throw failure("tool_calls[\(index)]: needs function.name")
                    }
                    addCall(id: call["id"]?.stringValue, name: name, arguments: call["function"]?["arguments"])
                }
                if let call = message["function_call"], case .object = call {
                    guard let name = call["name"]?.stringValue, !name.isEmpty else { throw failure("function_call: needs a name") }
                    addCall(id: nil, name: name, arguments: call["arguments"])
                }
            case "tool", "function":
                let output = JSONLines.text(of: message["content"])
                let id: String?
                if let callID = message["tool_call_id"]?.stringValue {
                    id = callID
                } else if role == "function", let name = message["name"]?.stringValue {
                    id = pending.first { $0.name == name }?.id
                } else {
                    id = pending.first?.id
                }
                guard let id else {
                    transcript.skipped.append("\(line.map { "line \($0): " } ?? "")\(field): a tool result with no call to answer, left out")
                    return
                }
                pending.removeAll { $0.id == id }
                transcript.addToolResult(toolUseID: id, output: output, isError: false, line: line)
            default:
                throw failure("unknown role '\(role.prefix(40))'; expected system, developer, user, assistant, tool or function")
            }
        }

        /// Adds a call; `arguments` (a JSON string, as OpenAI sends it) becomes the input object.
        private mutating func addCall(id: String?, name: String, arguments: JSONValue?) {
            var callID = id ?? ""
            if callID.isEmpty {
                generatedIDs += 1
                callID = "call_\(generatedIDs)"
            }
            let input: [String: JSONValue]
            switch arguments {
            case .string(let text)?:
                if case .object(let members)? = try? JSONCoding.decode(JSONValue.self, from: Data(text.utf8)) {
                    input = members
                } else {
                    input = text.isEmpty ? [:] : ["arguments": .string(text)]
                }
            case .object(let members)?: input = members
            case nil, .null?: input = [:]
            case let other?: input = ["arguments": other]
            }
            pending.append((callID, name))
            transcript.addToolUse(id: callID, name: name, input: input)
        }

        mutating func finish() throws(TranscriptParseError) -> ImportedTranscript {
            if leftOut > 0 { transcript.skipped.append("\(leftOut) system/developer message(s) left out") }
            try transcript.finish()
            return transcript
        }
    }
}
