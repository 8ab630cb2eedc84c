import Foundation
import ReverieCore
import ReverieStore

/// The seam between the evaluations API and whatever runs them (`EvaluationRunner`).
public protocol EvaluationScheduler: Sendable {
    func evaluationCreated(id: String) async
    func evaluationCanceled(id: String) async
}

/// Runs nothing: evaluations stay `pending` (a server without models).
public struct IdleEvaluationScheduler: EvaluationScheduler {
    public init() {}
    public func evaluationCreated(id: String) async {}
    public func evaluationCanceled(id: String) async {}
}

/// `/v1/evaluations` (Reverie extension): evaluations are checked, stored and handed to the
/// `EvaluationScheduler`.
public struct EvaluationService: Sendable {
    let store: any Store
    let scheduler: any EvaluationScheduler

    public init(store: any Store, scheduler: any EvaluationScheduler) {
        self.store = store
        self.scheduler = scheduler
    }

    /// `POST /v1/evaluations`: the agent, environment and stores must exist.
    public func createEvaluation(_ request: EvaluationRequest) async throws -> Evaluation {
        guard let agent = try await store.agent(id: request.agentID) else {
            throw APIError.invalidRequest("agent: agent '\(request.agentID)' not found")
        }
        if agent.archivedAt != nil { throw APIError.invalidRequest("agent: agent '\(agent.id)' is archived") }
        guard let environment = try await store.environment(id: request.environmentID) else {
            throw APIError.invalidRequest("environment_id: environment '\(request.environmentID)' not found")
        }
        if environment.archivedAt != nil { throw APIError.invalidRequest("environment_id: environment '\(environment.id)' is archived") }
        for (name, arm) in [("baseline", request.baseline), ("candidate", request.candidate)] {
            guard let storeID = arm.memoryStoreID else { continue }
            guard let memoryStore = try await store.memoryStore(id: storeID) else {
                throw APIError.invalidRequest("\(name).memory_store_id: memory store '\(storeID)' not found")
            }
            if memoryStore.archivedAt != nil { throw APIError.invalidRequest("\(name).memory_store_id: memory store '\(storeID)' is archived") }
        }
        let now = Timestamp.now()
        let evaluation = Evaluation(
            id: ResourceID.make(ResourceID.evaluation, at: now), agentID: agent.id, environmentID: environment.id, tasks: request.tasks,
            baseline: request.baseline, candidate: request.candidate, repetitions: request.repetitions, concurrency: request.concurrency,
            runTimeoutSeconds: request.runTimeoutSeconds, metadata: request.metadata, createdAt: now)
        try await store.createEvaluation(evaluation)
        await scheduler.evaluationCreated(id: evaluation.id)
        return evaluation
    }

    /// `GET /v1/evaluations/{id}`.
    public func evaluation(id: String) async throws -> Evaluation {
        guard let evaluation = try await store.evaluation(id: id) else { throw APIError.notFound("evaluation", id) }
        return evaluation
    }

    /// `GET /v1/evaluations`, newest first.
    public func listEvaluations(page: PageRequest) async throws -> Page<Evaluation> {
        try await store.listEvaluations(page: page)
    }

    /// `POST /v1/evaluations/{id}/cancel`: its running sessions are interrupted; idempotent on
    /// a canceled evaluation, refused on one that ended otherwise.
    public func cancelEvaluation(id: String) async throws -> Evaluation {
        let now = Timestamp.now()
        let evaluation = try await store.updateEvaluation(id: id) { current in
            switch current.status {
            case .canceled: return current
            case .completed, .failed:
                throw APIError.invalidRequest("evaluation '\(id)' is \(current.status.rawValue); only pending or running evaluations can be canceled")
            case .pending, .running:
                var next = current
                next.status = .canceled
                next.updatedAt = now
                next.endedAt = now
                return next
            }
        }
        await scheduler.evaluationCanceled(id: id)
        return evaluation
    }
}
