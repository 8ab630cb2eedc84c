import ReverieCore

/// Dreams and their reports. Status changes write `dream.*` outbox events in the same
/// transaction.
public protocol DreamStore: Sendable {
    /// Inserts a pending dream. A dream that updates a store in place is refused with a
    /// conflict while another unfinished dream updates the same store.
    func createDream(_ dream: Dream) async throws
    func dream(id: String) async throws -> Dream?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing.
    func updateDream(id: String, _ change: @Sendable (Dream) throws -> Dream) async throws -> Dream
    /// Dreams, newest first.
    func listDreams(_ filter: DreamFilter, page: PageRequest) async throws -> Page<Dream>
    /// Dreams that are `pending` or `running` (to resume after a restart), oldest first.
    func unfinishedDreamIDs() async throws -> [String]
    /// The dream's report, once it has one.
    func dreamReport(id: String) async throws -> DreamReport?
    /// Saves (replaces) the dream's report.
    func saveDreamReport(_ report: DreamReport) async throws
}

/// Filters for listing dreams.
public struct DreamFilter: Sendable, Equatable {
    public var includeArchived: Bool
    public var statuses: Set<Dream.Status>
    public var createdAt: TimeRange

    public init(includeArchived: Bool = false, statuses: Set<Dream.Status> = [], createdAt: TimeRange = .unbounded) {
        self.includeArchived = includeArchived
        self.statuses = statuses
        self.createdAt = createdAt
    }
}
