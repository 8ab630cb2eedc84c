import ReverieCore
import ReverieModels

/// The seam between the API and whatever runs agents.
///
/// The session service stores what clients send, then tells the driver. Without a runtime
/// (`IdleSessionDriver`), sessions simply stay `idle` with the events recorded.
public protocol SessionDriver: Sendable {
    /// Checks client events against the session's live state before they are stored (for
    /// example, that a tool confirmation answers a pending tool call). Throw `APIError` to refuse.
    func validate(_ events: [SessionEvent], for session: SessionHeader) async throws
    /// Client events were appended to a session's log.
    func eventsAppended(_ events: [StoredEvent], session: SessionHeader) async
    /// A session was deleted.
    func sessionDeleted(id: String) async
    /// A session's resources changed (a memory store was detached): what was built from them
    /// (the sandbox's mounts) must be rebuilt.
    func sessionResourcesChanged(id: String) async
    /// Whether calls to `model` have a list price (a budget can count them).
    func isBudgetable(model: String) -> Bool
}

extension SessionDriver {
    public func isBudgetable(model: String) -> Bool { ModelPrice.known(for: model) != nil }
}

/// A driver that runs nothing: events are stored, sessions stay idle.
public struct IdleSessionDriver: SessionDriver {
    public init() {}
    public func validate(_ events: [SessionEvent], for session: SessionHeader) async throws {}
    public func eventsAppended(_ events: [StoredEvent], session: SessionHeader) async {}
    public func sessionDeleted(id: String) async {}
    public func sessionResourcesChanged(id: String) async {}
}
