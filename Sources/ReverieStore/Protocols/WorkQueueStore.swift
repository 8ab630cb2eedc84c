import Foundation
import ReverieCore

/// The work queues of `self_hosted` environments and the keys their workers hold. Every
/// transition runs in one write transaction, so two pollers never claim the same item.
public protocol WorkQueueStore: Sendable {
    /// The session's live (not stopped) item, or a new queued one made by `make`; `created` says which.
    func ensureWorkItem(sessionID: String, environmentID: String, make: @Sendable () -> WorkItem) async throws -> (item: WorkItem, created: Bool)
    /// The oldest item of the environment that `claimable` accepts, changed by `claim` and saved.
    func claimWorkItem(
        environmentID: String, claimable: @Sendable (WorkItem) -> Bool, claim: @Sendable (WorkItem) -> WorkItem
    ) async throws -> WorkItem?
    /// One item of an environment.
    func workItem(environmentID: String, id: String) async throws -> WorkItem?
    /// The item whose current per-item secret has this hash.
    func workItem(secretHash: String) async throws -> WorkItem?
    /// Atomic read-modify-write of an item; throws `APIError.notFound` when missing. `change`
    /// returns the item to save and a value for the caller.
    func updateWorkItem<T: Sendable>(
        environmentID: String, id: String, _ change: @Sendable (WorkItem) throws -> (WorkItem, T)
    ) async throws -> (WorkItem, T)
    /// An environment's items, newest first.
    func listWorkItems(environmentID: String, page: PageRequest) async throws -> Page<WorkItem>
    /// The environment's live items (for queue statistics).
    func liveWorkItems(environmentID: String) async throws -> [WorkItem]

    func createEnvironmentKey(_ key: EnvironmentKey) async throws
    /// The unrevoked key whose secret has this hash.
    func environmentKey(hash: String) async throws -> EnvironmentKey?
    func listEnvironmentKeys(environmentID: String) async throws -> [EnvironmentKey]
    /// Revokes a key; false when it is not a key of that environment.
    func revokeEnvironmentKey(environmentID: String, id: String) async throws -> Bool
}
