import Foundation
import Logging
import ReverieCore
import ReverieStore
import ServiceLifecycle

/// Carries out memory stores' dream policies. Every `policyCheckInterval` it looks at each
/// policy and moves it one step along its cycle:
///
/// 1. **Trigger**: enough new ended sessions mounted the store (`sessions`), or a cron time
///    passed with at least one (`cron`) → a dream over them (at most 100, oldest first;
///    evaluation runs are never dreamed over).
/// 2. **Dream finished** → with an evaluation configured, the store (baseline) is evaluated
///    against the dream's output (candidate); without one, the dream awaits review.
/// 3. **Evaluation finished** → `if_not_worse` promotes (`apply`) unless the verdict is
///    `worse`; otherwise, or under `review`, the dream awaits review (`dream.awaiting_review`).
///
/// Each step is saved in the policy's `state` before the next begins, so a restart resumes
/// the cycle where it was; the dream and evaluation webhooks mark each step.
public actor DreamPolicyRunner: Service {
    let store: any Store
    let dreams: DreamService
    let evaluations: EvaluationService
    let interval: Duration
    let logger: Logger

    public init(store: any Store, dreams: DreamService, evaluations: EvaluationService, interval: Duration, logger: Logger = Logger(label: "reverie.dream-policies")) {
        self.store = store
        self.dreams = dreams
        self.evaluations = evaluations
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let interval = self.interval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.checkAll()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass over every policy (tests call it directly too).
    public func checkAll() async {
        let policies: [DreamPolicy]
        do {
            policies = try await store.listDreamPolicies()
        } catch {
            logger.error("cannot read dream policies", metadata: ["error": "\(ClientMessage.describe(error))"])
            return
        }
        for policy in policies {
            do {
                try await step(policy)
            } catch {
                logger.error("dream policy step failed", metadata: ["memory_store": "\(policy.memoryStoreID)", "error": "\(ClientMessage.describe(error))"])
            }
        }
    }

    private func step(_ policy: DreamPolicy) async throws {
        let storeID = policy.memoryStoreID
        if let evaluationID = policy.state.pendingEvaluationID {
            try await evaluationStep(policy, evaluationID)
        } else if let dreamID = policy.state.pendingDreamID {
            try await dreamStep(policy, dreamID)
        } else {
            try await triggerStep(policy, storeID)
        }
    }

    private func triggerStep(_ policy: DreamPolicy, _ storeID: String) async throws {
        let now = Timestamp.now()
        let consumed = Set(policy.state.consumedSessionIDs)
        let candidates = try await store.endedSessionIDs(mountingMemoryStore: storeID, since: policy.createdAt, excluding: consumed, limit: 200)
        // Evaluation runs are measurements, not experience: never dreamed over.
        var skipped: [String] = []
        var eligible: [String] = []
        for id in candidates {
            if let session = try await store.session(id: id), session.metadata["reverie.evaluation"] != nil { skipped.append(id) } else { eligible.append(id) }
        }
        let chosen = Array(eligible.prefix(DreamRequest.maxSessions))
        let passedOver = skipped
        let due: Bool
        switch policy.trigger {
        case .sessions(let count): due = chosen.count >= count
        case .cron(let schedule): due = !chosen.isEmpty && schedule.fires(after: policy.state.lastCheckedAt ?? policy.createdAt, through: now)
        }
        guard due else {
            _ = try await store.updateDreamPolicy(memoryStoreID: storeID) { current in
                var next = current
                next.state.lastCheckedAt = now
                next.state.consumedSessionIDs += passedOver.filter { !current.state.consumedSessionIDs.contains($0) }
                return next
            }
            return
        }
        var body: [String: JSONValue] = [
            "inputs": [
                ["type": "memory_store", "memory_store_id": .string(storeID)],
                ["type": "sessions", "session_ids": .array(chosen.map(JSONValue.string))],
            ],
            "model": .string(policy.model), "token_budget": .int(Int64(policy.tokenBudget)),
        ]
        if let instructions = policy.instructions { body["instructions"] = .string(instructions) }
        let dream = try await dreams.createDream(try DreamRequest(ObjectReader(.object(body))))
        logger.info("dream policy started a dream", metadata: ["memory_store": "\(storeID)", "dream": "\(dream.id)", "sessions": "\(chosen.count)"])
        _ = try await store.updateDreamPolicy(memoryStoreID: storeID) { current in
            var next = current
            next.state.lastCheckedAt = now
            next.state.pendingDreamID = dream.id
            next.state.lastDreamID = dream.id
            next.state.consumedSessionIDs += (chosen + passedOver).filter { !current.state.consumedSessionIDs.contains($0) }
            return next
        }
    }

    private func dreamStep(_ policy: DreamPolicy, _ dreamID: String) async throws {
        let dream = try await dreams.dream(id: dreamID)
        switch dream.status {
        case .pending, .running:
            return
        case .failed, .canceled:
            try await finish(policy, result: "dream_\(dream.status.rawValue)", detail: dream.error?.message)
        case .completed:
            guard let gate = policy.evaluation, let output = dream.outputStoreID else {
                try await awaitReview(policy, dreamID: dreamID, detail: "no evaluation is configured")
                return
            }
            let request = EvaluationRequest(
                plan: gate, baseline: EvaluationArm(memoryStoreID: policy.memoryStoreID), candidate: EvaluationArm(memoryStoreID: output),
                metadata: ["reverie.dream": dreamID])
            let evaluation: Evaluation
            do {
                evaluation = try await evaluations.createEvaluation(request)
            } catch let error as APIError {
                try await awaitReview(policy, dreamID: dreamID, detail: "the evaluation could not start: \(error.message)")
                return
            }
            _ = try await store.updateDreamPolicy(memoryStoreID: policy.memoryStoreID) { current in
                var next = current
                next.state.pendingEvaluationID = evaluation.id
                return next
            }
        }
    }

    private func evaluationStep(_ policy: DreamPolicy, _ evaluationID: String) async throws {
        let evaluation = try await evaluations.evaluation(id: evaluationID)
        guard evaluation.status.isTerminal, let dreamID = policy.state.pendingDreamID else { return }
        guard evaluation.status == .completed, let verdict = evaluation.results?.comparison.verdict else {
            try await awaitReview(policy, dreamID: dreamID, detail: "evaluation \(evaluationID) \(evaluation.status.rawValue)")
            return
        }
        guard policy.promotion == .ifNotWorse, verdict != .worse else {
            try await awaitReview(policy, dreamID: dreamID, detail: "evaluation \(evaluationID): \(verdict.rawValue)")
            return
        }
        do {
            _ = try await dreams.promoteDream(id: dreamID, DreamPromoteRequest(strategy: .apply), actor: .dream(dreamID))
            try await finish(policy, result: "promoted", detail: "evaluation \(evaluationID): \(verdict.rawValue)")
        } catch let error as APIError {
            try await awaitReview(policy, dreamID: dreamID, detail: "promotion refused: \(error.message)")
        }
    }

    private func awaitReview(_ policy: DreamPolicy, dreamID: String, detail: String) async throws {
        try await store.appendOutboxEvents([
            .dream(type: .awaitingReview, dreamID: dreamID, attributes: ["memory_store_id": policy.memoryStoreID]),
        ])
        try await finish(policy, result: "awaiting_review", detail: detail)
    }

    private func finish(_ policy: DreamPolicy, result: String, detail: String?) async throws {
        logger.info("dream policy cycle ended", metadata: ["memory_store": "\(policy.memoryStoreID)", "result": "\(result)"])
        _ = try await store.updateDreamPolicy(memoryStoreID: policy.memoryStoreID) { current in
            var next = current
            next.state.pendingDreamID = nil
            next.state.pendingEvaluationID = nil
            next.state.lastResult = result
            next.state.lastResultDetail = detail
            return next
        }
    }
}
