import ReverieCore

/// Evaluations (Reverie extension). Entering a terminal status, and creation, write
/// `evaluation.*` outbox events in the same transaction.
public protocol EvaluationStore: Sendable {
    func createEvaluation(_ evaluation: Evaluation) async throws
    func evaluation(id: String) async throws -> Evaluation?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing.
    func updateEvaluation(id: String, _ change: @Sendable (Evaluation) throws -> Evaluation) async throws -> Evaluation
    /// Evaluations, newest first.
    func listEvaluations(page: PageRequest) async throws -> Page<Evaluation>
    /// Evaluations that are `pending` or `running` (to resume after a restart), oldest first.
    func unfinishedEvaluationIDs() async throws -> [String]
}
