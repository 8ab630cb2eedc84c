import Foundation
import ReverieCore
import ReverieStore

/// `/v1/memory_stores/{id}/dream_policy` (Reverie extension): when a store dreams on its own.
public struct DreamPolicyService: Sendable {
    let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    /// `PUT`: creates or replaces the policy (its progress is kept). The store must exist and
    /// not be archived; so must the evaluation's agent and environment.
    public func putPolicy(memoryStoreID: String, _ request: DreamPolicyRequest) async throws -> DreamPolicy {
        guard let memoryStore = try await store.memoryStore(id: memoryStoreID) else { throw APIError.notFound("memory store", memoryStoreID) }
        if memoryStore.archivedAt != nil { throw APIError.invalidRequest("memory store '\(memoryStoreID)' is archived") }
        if let gate = request.evaluation {
            guard try await store.agent(id: gate.agentID) != nil else {
                throw APIError.invalidRequest("evaluation.agent: agent '\(gate.agentID)' not found")
            }
            guard try await store.environment(id: gate.environmentID) != nil else {
                throw APIError.invalidRequest("evaluation.environment_id: environment '\(gate.environmentID)' not found")
            }
        }
        let policy = DreamPolicy(
            memoryStoreID: memoryStoreID, trigger: request.trigger, model: request.model, instructions: request.instructions,
            tokenBudget: request.tokenBudget, evaluation: request.evaluation, promotion: request.promotion, createdAt: Timestamp.now())
        return try await store.putDreamPolicy(policy)
    }

    /// `GET`: the policy and its state.
    public func policy(memoryStoreID: String) async throws -> DreamPolicy {
        guard let policy = try await store.dreamPolicy(memoryStoreID: memoryStoreID) else {
            throw APIError.notFound("dream policy of memory store", memoryStoreID)
        }
        return policy
    }

    /// `DELETE`: stops scheduling (a dream or evaluation already started runs on, unattended).
    public func deletePolicy(memoryStoreID: String) async throws {
        guard try await store.deleteDreamPolicy(memoryStoreID: memoryStoreID) else {
            throw APIError.notFound("dream policy of memory store", memoryStoreID)
        }
    }
}
