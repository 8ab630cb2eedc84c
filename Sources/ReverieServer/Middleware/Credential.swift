/// Who a request is from, as authentication established it.
public enum Credential: Sendable, Equatable {
    /// An API key (`REVERIE_API_KEY` or a stored key): the whole API.
    case apiKey(id: String)
    /// An environment key: that environment's work queue and the events of its sessions.
    case environmentKey(id: String, environmentID: String)
    /// The sessions token of a work item's `secret`: that item's heartbeat and stop, and its session's events.
    case workItem(id: String, environmentID: String, sessionID: String)
}
