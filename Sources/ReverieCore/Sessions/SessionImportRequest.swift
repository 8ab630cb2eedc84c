/// A parsed `POST /v1/sessions/import` body (a Reverie extension): a finished conversation
/// from elsewhere, to be kept as a read-only session. See docs/importing.md.
///
/// ```json
/// {"agent": "agent_…", "environment_id": "env_…", "title": "…", "metadata": {…},
///  "source": "claude-code", "source_id": "…", "success": true, "reward": 0.5,
///  "events": [{"type": "user.message", "content": [{"type": "text", "text": "…"}]},
///             {"type": "agent.tool_use", "id": "toolu_1", "name": "bash", "input": {…}},
///             {"type": "agent.tool_result", "tool_use_id": "toolu_1", "content": […], "is_error": false},
///             {"type": "agent.message", "content": [{"type": "text", "text": "…"}]}]}
/// ```
///
/// An `agent.tool_use` carries the transcript's own call id in `id`; an `agent.tool_result`
/// names it in `tool_use_id` (the latest earlier call with that id). In the stored log both
/// refer to the server's event id, as in sessions Reverie ran.
public struct SessionImportRequest: Sendable {
    public static let maxEvents = 10_000
    public static let maxSourceLength = 64
    public static let maxSourceIDLength = 256
    public static let maxToolNameLength = 256
    public static let maxToolUseIDLength = 256

    /// The event types an import may hold.
    public static let importableTypes: [EventType] = [.userMessage, .agentMessage, .agentToolUse, .agentToolResult]

    public var agent: SessionAgentReference
    public var environmentID: String
    public var title: String?
    public var metadata: [String: String]
    public var imported: SessionImport
    /// The log, in order, with server event ids; `agent.tool_result.tool_use_id` names the call's event.
    public var events: [SessionEvent]

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["agent", "environment_id", "title", "metadata", "source", "source_id", "success", "reward", "events"])
        guard case .value(let agentValue) = body.raw("agent") else { throw APIError.invalidRequest("agent: required") }
        agent = try SessionAgentReference(agentValue, at: body.field("agent"))
        environmentID = try body.requiredString("environment_id")
        title = try body.string("title")
        if let title { try Rules.length(title, body.field("title"), max: SessionCreateRequest.maxTitleLength) }
        metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))

        let source = try body.requiredString("source")
        try Rules.length(source, body.field("source"), min: 1, max: Self.maxSourceLength)
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_.".unicodeScalars)
        guard source.unicodeScalars.allSatisfy(allowed.contains) else {
            throw APIError.invalidRequest("source: must use only lowercase letters, digits, '-', '_' and '.' (got '\(source.prefix(80))')")
        }
        let sourceID = try body.string("source_id")
        if let sourceID {
            try Rules.length(sourceID, body.field("source_id"), min: 1, max: Self.maxSourceIDLength)
            try Rules.noControlCharacters(sourceID, body.field("source_id"))
        }
        let success = try body.bool("success")
        var reward: Double?
        switch body.members["reward"] {
        case nil, .null?: break
        case .int(let value)?: reward = Double(value)
        case .double(let value)? where value.isFinite: reward = value
        case let other?: throw APIError.invalidRequest("reward: expected a finite number, got \(other.typeName)")
        }
        imported = SessionImport(source: source, sourceID: sourceID, success: success, reward: reward)

        guard let values = try body.array("events") else { throw APIError.invalidRequest("events: required") }
        events = try Self.parseEvents(values, at: body.field("events"))
    }

    /// Checks each event and gives it a server id, linking tool results to their calls' events.
    static func parseEvents(_ values: [JSONValue], at field: FieldPath) throws(APIError) -> [SessionEvent] {
        try Rules.count(values, field, min: 1, max: maxEvents)
        var events: [SessionEvent] = []
        events.reserveCapacity(values.count)
        /// The transcript's call ids → the event ids of those calls (the latest call with each id).
        var calls: [String: String] = [:]
        for (index, value) in values.enumerated() {
            let reader = try ObjectReader(value, at: field.index(index))
            let type = EventType(rawValue: try reader.discriminator())
            var fields: [String: JSONValue] = [:]
            let id = ResourceID.make(ResourceID.event)
            switch type {
            case .userMessage:
                events.append(try UserEventRequest.parseOne(value, at: field.index(index)))
                continue
            case .agentMessage:
                try reader.rejectUnknown(["type", "content"])
                guard let content = try reader.array("content"), !content.isEmpty else {
                    throw APIError.invalidRequest("\(reader.field("content")): required and must not be empty")
                }
                fields["content"] = .array(try ContentBlocks.parse(content, at: reader.field("content"), allowed: .textOnly))
            case .agentToolUse:
                try reader.rejectUnknown(["type", "id", "name", "input"])
                let callID = try reader.requiredString("id")
                try Rules.length(callID, reader.field("id"), min: 1, max: maxToolUseIDLength)
                try Rules.noControlCharacters(callID, reader.field("id"))
                let name = try reader.requiredString("name")
                try Rules.length(name, reader.field("name"), min: 1, max: maxToolNameLength)
                try Rules.noControlCharacters(name, reader.field("name"))
                let input = try reader.object("input")?.members ?? [:]
                fields["name"] = .string(name)
                fields["input"] = .object(input)
                calls[callID] = id
            case .agentToolResult:
                try reader.rejectUnknown(["type", "tool_use_id", "content", "is_error"])
                let callID = try reader.requiredString("tool_use_id")
                guard let callEventID = calls[callID] else {
                    throw APIError.invalidRequest(
                        "\(reader.field("tool_use_id")): no earlier agent.tool_use in this import has id '\(callID.prefix(256))'")
                }
                fields["tool_use_id"] = .string(callEventID)
                let content = try reader.array("content") ?? []
                fields["content"] = .array(try ContentBlocks.parse(content, at: reader.field("content"), allowed: .toolResult))
                fields["is_error"] = .bool(try reader.bool("is_error") ?? false)
            default:
                let names = importableTypes.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalidRequest("\(reader.field("type")): '\(type.rawValue.prefix(80))' cannot be imported; expected one of \(names)")
            }
            events.append(SessionEvent(id: id, type: type, fields: fields))
        }
        return events
    }
}
