import Foundation

/// One conversation read from a transcript file, in the shape Reverie imports: the turns in
/// order (user and agent messages, tool calls and their results), a title, metadata, and how
/// it ended when the transcript says. `requestBody` makes the `POST /v1/sessions/import` body.
public struct ImportedTranscript: Sendable, Equatable {
    /// One step of the conversation.
    public enum Turn: Sendable, Equatable {
        case user(String)
        case agent(String)
        /// A tool call; `id` is the transcript's own call id.
        case toolUse(id: String, name: String, input: [String: JSONValue])
        /// The result of the call with `toolUseID`.
        case toolResult(toolUseID: String, output: String, isError: Bool)
    }

    /// Longest user or agent message kept; longer ones are cut with a marker.
    public static let maxMessageCharacters = 100_000
    /// Longest tool output kept; longer ones are cut with a marker.
    public static let maxToolOutputCharacters = 20_000
    /// Longest title made from the first user message.
    public static let maxDerivedTitleCharacters = 80

    public var format: TranscriptFormat
    /// Where it was read from: the file, and the line when a file holds several transcripts.
    public var origin: String
    public var title: String?
    /// The transcript's own id (Claude Code's `sessionId`, a log record's `id`).
    public var sourceID: String?
    public var metadata: [String: String]
    public var success: Bool?
    public var reward: Double?
    public private(set) var turns: [Turn]
    /// What was left out and why, one note each, for the importer to report.
    public var skipped: [String]
    /// Call ids seen so far, to match results to calls.
    private var callIDs: Set<String> = []

    public init(format: TranscriptFormat, origin: String) {
        self.format = format
        self.origin = origin
        self.metadata = [:]
        self.turns = []
        self.skipped = []
    }

    // MARK: building

    /// Adds a user message (blank ones are left out).
    public mutating func addUser(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return }
        turns.append(.user(Self.cut(trimmed, limit: Self.maxMessageCharacters)))
    }

    /// Adds an agent message (blank ones are left out).
    public mutating func addAgent(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return }
        turns.append(.agent(Self.cut(trimmed, limit: Self.maxMessageCharacters)))
    }

    /// Adds a tool call.
    public mutating func addToolUse(id: String, name: String, input: [String: JSONValue]) {
        callIDs.insert(id)
        turns.append(.toolUse(id: id, name: name, input: input))
    }

    /// Adds a tool result; one whose call is not in the transcript is left out and noted.
    public mutating func addToolResult(toolUseID: String, output: String, isError: Bool, line: Int? = nil) {
        guard callIDs.contains(toolUseID) else {
            skipped.append("\(line.map { "line \($0): " } ?? "")result of tool call '\(toolUseID.prefix(80))', which is not in the transcript, left out")
            return
        }
        turns.append(.toolResult(toolUseID: toolUseID, output: Self.cut(output, limit: Self.maxToolOutputCharacters), isError: isError))
    }

    /// Whether a call with this id was added.
    public func hasToolUse(id: String) -> Bool { callIDs.contains(id) }

    /// Finishes the transcript: a title from the first user message when it has none, and
    /// metadata within the API's limits. Throws when there is nothing to import.
    public mutating func finish() throws(TranscriptParseError) {
        guard turns.contains(where: { if case .toolResult = $0 { false } else { true } }) else {
            throw TranscriptParseError(origin: origin, line: nil, message: "no user, assistant or tool turns found (is it a \(format.rawValue) file?)")
        }
        if title?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
            title = turns.lazy.compactMap { turn -> String? in if case .user(let text) = turn { text } else { nil } }.first.map(Self.titleLine)
        }
        if let current = title, current.count > SessionCreateRequest.maxTitleLength {
            title = String(current.prefix(SessionCreateRequest.maxTitleLength - 1)) + "…"
        }
        var kept: [String: String] = [:]
        for key in metadata.keys.sorted() where kept.count < Metadata.maxPairs {
            guard let value = metadata[key], (1...Metadata.maxKeyLength).contains(key.count) else { continue }
            kept[key] = String(value.prefix(Metadata.maxValueLength))
        }
        metadata = kept
    }

    // MARK: the import request

    /// The turns as the events of an import request.
    public var events: [JSONValue] {
        turns.map { turn -> JSONValue in
            switch turn {
            case .user(let text):
                ["type": "user.message", "content": [["type": "text", "text": .string(text)]]]
            case .agent(let text):
                ["type": "agent.message", "content": [["type": "text", "text": .string(text)]]]
            case .toolUse(let id, let name, let input):
                ["type": "agent.tool_use", "id": .string(id), "name": .string(name), "input": .object(input)]
            case .toolResult(let id, let output, let isError):
                [
                    "type": "agent.tool_result", "tool_use_id": .string(id), "is_error": .bool(isError),
                    "content": output.isEmpty ? [] : [["type": "text", "text": .string(output)]],
                ]
            }
        }
    }

    /// The `POST /v1/sessions/import` body for this transcript.
    public func requestBody(agentID: String, environmentID: String) -> JSONValue {
        var body: [String: JSONValue] = [
            "agent": .string(agentID), "environment_id": .string(environmentID), "source": .string(format.rawValue),
            "metadata": .object(metadata.mapValues(JSONValue.string)), "events": .array(events),
        ]
        if let title { body["title"] = .string(title) }
        if let sourceID { body["source_id"] = .string(String(sourceID.prefix(SessionImportRequest.maxSourceIDLength))) }
        if let success { body["success"] = .bool(success) }
        if let reward { body["reward"] = .double(reward) }
        return .object(body)
    }

    // MARK: text

    /// Cuts text to `limit` characters, saying how much was cut.
    static func cut(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "\n[… \(text.count - limit) characters cut on import]"
    }

    /// The first non-blank line of a message, shortened for a title.
    static func titleLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? text
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > maxDerivedTitleCharacters else { return trimmed }
        return String(trimmed.prefix(maxDerivedTitleCharacters - 1)) + "…"
    }
}
