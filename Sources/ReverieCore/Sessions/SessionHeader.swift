import Foundation

/// The small part of a session that log appends check and update: identity, archive mark
/// and derived state. Reading it avoids decoding the whole session on the hot path.
public struct SessionHeader: Sendable, Equatable {
    public var id: String
    public var environmentID: String
    public var archivedAt: Date?
    public var state: SessionState

    public init(id: String, environmentID: String, archivedAt: Date?, state: SessionState) {
        self.id = id
        self.environmentID = environmentID
        self.archivedAt = archivedAt
        self.state = state
    }

    public var status: SessionStatus { state.status }
}
