import Foundation
import ReverieCore

/// Memory stores' dream policies (Reverie extension), at most one per store.
public protocol DreamPolicyStore: Sendable {
    /// Creates or replaces the policy of `policy.memoryStoreID`, keeping its state when replacing.
    func putDreamPolicy(_ policy: DreamPolicy) async throws -> DreamPolicy
    func dreamPolicy(memoryStoreID: String) async throws -> DreamPolicy?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing.
    func updateDreamPolicy(memoryStoreID: String, _ change: @Sendable (DreamPolicy) throws -> DreamPolicy) async throws -> DreamPolicy
    /// True when there was one.
    func deleteDreamPolicy(memoryStoreID: String) async throws -> Bool
    func listDreamPolicies() async throws -> [DreamPolicy]
    /// Sessions that mounted the store, were created at or after `since`, have stopped
    /// (idle or terminated) and are not in `excluding`, oldest first, at most `limit`.
    func endedSessionIDs(mountingMemoryStore storeID: String, since: Date, excluding: Set<String>, limit: Int) async throws -> [String]
}
