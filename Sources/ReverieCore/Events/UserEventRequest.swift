/// Parses the events a client sends (`POST /v1/sessions/{id}/events` and `initial_events`)
/// into log entries, checking each against its type's rules.
public enum UserEventRequest {
    public static let maxEventsPerRequest = 50
    public static let maxRubricLength = 262_144
    public static let maxOutcomeIterations = 20
    public static let defaultOutcomeIterations = 3

    /// Parses `events`. `allowedTypes` narrows what is accepted (initial events take only
    /// `user.message` and `user.define_outcome`).
    public static func parse(_ values: [JSONValue], at field: FieldPath, allowedTypes: Set<EventType> = EventType.sendable)
        throws(APIError) -> [SessionEvent]
    {
        try Rules.count(values, field, min: 1, max: maxEventsPerRequest)
        var events: [SessionEvent] = []
        events.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            let path = field.index(index)
            let event = try parseOne(value, at: path)
            guard allowedTypes.contains(event.type) else {
                let names = allowedTypes.map(\.rawValue).sorted().joined(separator: ", ")
                throw APIError.invalidRequest("\(path).type: '\(event.type)' cannot be sent here; expected one of \(names)")
            }
            if event.type == .systemMessage {
                guard index == values.count - 1 else {
                    throw APIError.invalidRequest("\(path): system.message must be the final event of the request")
                }
                let previous = index > 0 ? events[index - 1].type : nil
                guard let previous, [.userMessage, .userToolResult, .userCustomToolResult].contains(previous) else {
                    throw APIError.invalidRequest(
                        "\(path): system.message must immediately follow a user.message, user.tool_result or user.custom_tool_result")
                }
            }
            events.append(event)
        }
        if events.filter({ $0.type == .userDefineOutcome }).count > 1 {
            throw APIError.invalidRequest("\(field): at most one user.define_outcome per request; one outcome runs at a time")
        }
        return events
    }

    static func parseOne(_ value: JSONValue, at path: FieldPath) throws(APIError) -> SessionEvent {
        let reader = try ObjectReader(value, at: path)
        let typeName = try reader.discriminator()
        let type = EventType(rawValue: typeName)
        var fields: [String: JSONValue] = [:]
        switch type {
        case .userMessage:
            try reader.rejectUnknown(["type", "content"])
            guard let content = try reader.array("content") else { throw APIError.invalidRequest("\(reader.field("content")): required") }
            if content.isEmpty { throw APIError.invalidRequest("\(reader.field("content")): must not be empty") }
            fields["content"] = .array(try ContentBlocks.parse(content, at: reader.field("content"), allowed: .message))
        case .userInterrupt:
            try reader.rejectUnknown(["type", "session_thread_id"])
            if let thread = try reader.string("session_thread_id") { fields["session_thread_id"] = .string(thread) }
        case .userToolConfirmation:
            try reader.rejectUnknown(["type", "tool_use_id", "result", "deny_message", "session_thread_id"])
            fields["tool_use_id"] = .string(try reader.requiredString("tool_use_id"))
            let result = try reader.requiredString("result")
            guard result == "allow" || result == "deny" else {
                throw APIError.invalidRequest("\(reader.field("result")): must be 'allow' or 'deny'")
            }
            fields["result"] = .string(result)
            if let message = try reader.string("deny_message") {
                guard result == "deny" else {
                    throw APIError.invalidRequest("\(reader.field("deny_message")): only allowed when result is 'deny'")
                }
                fields["deny_message"] = .string(message)
            }
            if let thread = try reader.string("session_thread_id") { fields["session_thread_id"] = .string(thread) }
        case .userCustomToolResult, .userToolResult:
            let idKey = type == .userToolResult ? "tool_use_id" : "custom_tool_use_id"
            try reader.rejectUnknown(["type", idKey, "content", "is_error", "session_thread_id"])
            fields[idKey] = .string(try reader.requiredString(idKey))
            if let content = try reader.array("content") {
                fields["content"] = .array(try ContentBlocks.parse(content, at: reader.field("content"), allowed: .toolResult))
            }
            if let isError = try reader.bool("is_error") { fields["is_error"] = .bool(isError) }
            if let thread = try reader.string("session_thread_id") { fields["session_thread_id"] = .string(thread) }
        case .userDefineOutcome:
            // `checks` and `grader_model` are Reverie extensions (see docs/outcomes.md).
            try reader.rejectUnknown(["type", "description", "rubric", "max_iterations", "checks", "grader_model"])
            let description = try reader.requiredString("description")
            if description.isEmpty { throw APIError.invalidRequest("\(reader.field("description")): must not be empty") }
            let rubric = try reader.requiredObject("rubric")
            switch try rubric.discriminator() {
            case "text":
                try rubric.rejectUnknown(["type", "content"])
                let content = try rubric.requiredString("content")
                try Rules.length(content, rubric.field("content"), min: 1, max: maxRubricLength)
                fields["rubric"] = ["type": "text", "content": .string(content)]
            case "file":
                throw APIError.invalidRequest("\(rubric.field("type")): file rubrics are not supported by Reverie (there is no Files API); send the rubric as text")
            case let other:
                throw APIError.invalidRequest("\(rubric.field("type")): must be 'text' or 'file', got '\(other)'")
            }
            let iterations = try reader.int("max_iterations") ?? defaultOutcomeIterations
            guard (1...maxOutcomeIterations).contains(iterations) else {
                throw APIError.invalidRequest("\(reader.field("max_iterations")): must be between 1 and \(maxOutcomeIterations)")
            }
            fields["description"] = .string(description)
            fields["max_iterations"] = .int(Int64(iterations))
            if let checks = try reader.array("checks") {
                try Rules.count(checks, reader.field("checks"), max: 20)
                var parsed: [JSONValue] = []
                for (index, check) in checks.enumerated() {
                    let entry = try ObjectReader(check, at: reader.field("checks").index(index))
                    try entry.rejectUnknown(["name", "command"])
                    let command = try entry.requiredString("command")
                    try Rules.length(command, entry.field("command"), min: 1, max: 4096)
                    let name = try entry.string("name") ?? command
                    parsed.append(["name": .string(name), "command": .string(command)])
                }
                fields["checks"] = .array(parsed)
            }
            if let model = try reader.string("grader_model") {
                try Rules.length(model, reader.field("grader_model"), min: 1, max: 256)
                fields["grader_model"] = .string(model)
            }
            fields["outcome_id"] = .string(ResourceID.make(ResourceID.outcome))
        case .systemMessage:
            try reader.rejectUnknown(["type", "content"])
            guard let content = try reader.array("content"), !content.isEmpty else {
                throw APIError.invalidRequest("\(reader.field("content")): required and must not be empty")
            }
            fields["content"] = .array(try ContentBlocks.parse(content, at: reader.field("content"), allowed: .textOnly))
        default:
            let names = EventType.sendable.map(\.rawValue).sorted().joined(separator: ", ")
            if EventType.all.contains(type) {
                throw APIError.invalidRequest("\(reader.field("type")): '\(typeName)' events are produced by the server and cannot be sent; send one of \(names)")
            }
            throw APIError.invalidRequest("\(reader.field("type")): unknown event type '\(typeName)'; expected one of \(names)")
        }
        return SessionEvent(type: type, fields: fields)
    }
}
