import Foundation

extension OutboxEvent {
    /// The webhook events of an evaluation's life (`data.id` is the evaluation id, `eval_…`).
    public enum EvaluationEvent: String, Sendable, CaseIterable {
        case created, completed, failed, canceled

        /// The webhook event type, e.g. `evaluation.completed`.
        public var type: String { "evaluation." + rawValue }

        /// The event an evaluation entering `status` causes, if any.
        public init?(status: Evaluation.Status) {
            switch status {
            case .pending: self = .created
            case .running: return nil
            case .completed: self = .completed
            case .failed: self = .failed
            case .canceled: self = .canceled
            }
        }
    }

    public static func evaluation(type: EvaluationEvent, evaluationID: String, at date: Date = Timestamp.now()) -> OutboxEvent {
        OutboxEvent(type: type.type, resourceID: evaluationID, createdAt: date)
    }
}
