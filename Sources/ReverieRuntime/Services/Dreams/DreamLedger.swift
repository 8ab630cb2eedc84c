import ReverieCore
import ReverieStore

/// The dream records the dream runner works on: a dream, its status changes and its
/// report. (The API's side of dreams is `DreamService`.)
public struct DreamLedger: Sendable {
    let store: any DreamStore

    public init(store: any DreamStore) {
        self.store = store
    }

    /// The dream, or `APIError.notFound`.
    public func dream(id: String) async throws -> Dream {
        guard let dream = try await store.dream(id: id) else { throw APIError.notFound("dream", id) }
        return dream
    }

    /// Atomic read-modify-write of a dream.
    @discardableResult
    public func update(id: String, _ change: @Sendable (Dream) throws -> Dream) async throws -> Dream {
        try await store.updateDream(id: id, change)
    }

    /// Dreams that are `pending` or `running`, oldest first.
    public func unfinishedDreamIDs() async throws -> [String] {
        try await store.unfinishedDreamIDs()
    }

    /// The dream's report, once it has one.
    public func report(id: String) async throws -> DreamReport? {
        try await store.dreamReport(id: id)
    }

    /// Saves (replaces) the dream's report.
    public func save(_ report: DreamReport) async throws {
        try await store.saveDreamReport(report)
    }
}
