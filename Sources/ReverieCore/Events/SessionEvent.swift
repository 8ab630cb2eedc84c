import Foundation

/// One entry of a session's event log, in the API's wire shape: `id`, `type`,
/// `processed_at`, and the type's own fields in `fields`.
public struct SessionEvent: Sendable, Equatable {
    public var id: String
    public var type: EventType
    public var processedAt: Date
    /// The event's other members (`content`, `tool_use_id`, `session_thread_id`, …).
    public var fields: [String: JSONValue]

    public init(id: String = ResourceID.make(ResourceID.event), type: EventType, processedAt: Date = Timestamp.now(), fields: [String: JSONValue] = [:]) {
        self.id = id
        self.type = type
        self.processedAt = processedAt
        self.fields = fields
    }

    /// The thread the event belongs to (`session_thread_id`), nil for the primary thread.
    public var threadID: String? {
        get { fields["session_thread_id"]?.stringValue }
        set { fields["session_thread_id"] = newValue.map(JSONValue.string) }
    }

    /// The whole event as one JSON object.
    public var json: JSONValue {
        var object = fields
        object["id"] = .string(id)
        object["type"] = .string(type.rawValue)
        object["processed_at"] = .string(Timestamp.format(processedAt))
        return .object(object)
    }

    /// The event serialized once, as stored and as sent to clients.
    public func encoded() throws -> String {
        try JSONCoding.string(json)
    }

    /// Rebuilds an event from its stored JSON.
    public init(json text: String) throws {
        let value = try JSONCoding.decode(JSONValue.self, from: text)
        guard var object = value.objectValue, let id = object["id"]?.stringValue, let type = object["type"]?.stringValue else {
            throw APIError.internalError("stored event is malformed")
        }
        let processedAt = object["processed_at"]?.stringValue.flatMap(Timestamp.parse) ?? Date(timeIntervalSince1970: 0)
        object["id"] = nil
        object["type"] = nil
        object["processed_at"] = nil
        self.init(id: id, type: EventType(rawValue: type), processedAt: processedAt, fields: object)
    }

    /// Concatenated `text` of the event's text content blocks.
    public var text: String {
        (fields["content"]?.arrayValue ?? []).compactMap { block in
            block["type"] == "text" ? block["text"]?.stringValue : nil
        }.joined(separator: "\n")
    }
}

/// An event as stored: its place in the session's log and its serialized form.
public struct StoredEvent: Sendable, Equatable {
    public var sessionID: String
    /// Position in the session's log, starting at 1, strictly increasing, never reused.
    public var sequence: Int64
    public var id: String
    public var type: EventType
    public var processedAt: Date
    public var threadID: String?
    /// The event's JSON, exactly as clients receive it.
    public var json: String

    public init(sessionID: String, sequence: Int64, id: String, type: EventType, processedAt: Date, threadID: String?, json: String) {
        self.sessionID = sessionID
        self.sequence = sequence
        self.id = id
        self.type = type
        self.processedAt = processedAt
        self.threadID = threadID
        self.json = json
    }

    /// The decoded event.
    public func event() throws -> SessionEvent {
        try SessionEvent(json: json)
    }
}
