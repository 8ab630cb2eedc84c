/// Who made a change to a memory (a version's `created_by`) or redacted a version
/// (`redacted_by`).
///
/// The API's actors are `api_actor`, `session_actor`, `user_actor` and
/// `service_account_actor`. Reverie adds `dream_actor` (`{"type":"dream_actor","dream_id":"drm_…"}`)
/// for changes a dream applies, so such changes are never passed off as a person's or a
/// session's. Clients that validate responses strictly against the official types reject
/// that one extension type; the SDK's default parsing keeps it (`created_by.type == "dream_actor"`).
public enum MemoryActor: Sendable, Hashable {
    /// A caller of the API, by the id of the API key that authenticated it.
    case apiKey(String)
    /// An agent writing through the store mounted into its session.
    case session(String)
    /// A person acting outside the API, e.g. through the `reverie memory` command line.
    case user(String)
    /// A workload authenticated as a service account.
    case serviceAccount(String)
    /// A dream consolidating memory (Reverie extension).
    case dream(String)

    /// The wire `type`.
    public var type: String {
        switch self {
        case .apiKey: "api_actor"
        case .session: "session_actor"
        case .user: "user_actor"
        case .serviceAccount: "service_account_actor"
        case .dream: "dream_actor"
        }
    }

    /// The actor's identifier (key, session, user, service account or dream id).
    public var id: String {
        switch self {
        case .apiKey(let id), .session(let id), .user(let id), .serviceAccount(let id), .dream(let id): id
        }
    }

    /// The name of the wire field that carries `id`.
    public var idField: String {
        switch self {
        case .apiKey: "api_key_id"
        case .session: "session_id"
        case .user: "user_id"
        case .serviceAccount: "service_account_id"
        case .dream: "dream_id"
        }
    }

    /// Rebuilds an actor from its stored type and id.
    public init?(type: String, id: String) {
        switch type {
        case "api_actor": self = .apiKey(id)
        case "session_actor": self = .session(id)
        case "user_actor": self = .user(id)
        case "service_account_actor": self = .serviceAccount(id)
        case "dream_actor": self = .dream(id)
        default: return nil
        }
    }

    /// Whether this actor is a dream (dreams never change pinned memories).
    public var isDream: Bool {
        if case .dream = self { return true }
        return false
    }

    /// The wire form, e.g. `{"type":"api_actor","api_key_id":"apikey_…"}`.
    public var json: JSONValue {
        .object(["type": .string(type), idField: .string(id)])
    }
}

extension MemoryActor: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        guard let type = value["type"]?.stringValue else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "actor without a type"))
        }
        let fields = ["api_key_id", "session_id", "user_id", "service_account_id", "dream_id"]
        guard let id = fields.lazy.compactMap({ value[$0]?.stringValue }).first, let actor = MemoryActor(type: type, id: id) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown actor '\(type)'"))
        }
        self = actor
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}
