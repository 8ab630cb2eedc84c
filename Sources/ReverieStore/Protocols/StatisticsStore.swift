/// Counts of what the store holds, for operators' metrics (sampled when `/metrics` is read).
public protocol StatisticsStore: Sendable {
    func statusCounts() async throws -> StatusCounts
}

/// How many sessions, dreams, evaluations and webhook deliveries are in each state.
public struct StatusCounts: Sendable, Equatable {
    public var sessions: [String: Int] = [:]
    public var dreams: [String: Int] = [:]
    public var evaluations: [String: Int] = [:]
    public var webhookDeliveries: [String: Int] = [:]
    /// Outbox events not yet turned into deliveries.
    public var outboxPending = 0

    public init() {}
}
