import Foundation

extension OutboxEvent {
    /// The webhook events of a dream's life (`dream.created` … `dream.canceled`), plus
    /// `dream.promoted` when its output is put in place of its input store and
    /// `dream.awaiting_review` when a dream policy leaves that to a person.
    public enum DreamEvent: String, Sendable, CaseIterable {
        case created, running, completed, failed, canceled, promoted
        case awaitingReview = "awaiting_review"

        /// The webhook event type, e.g. `dream.completed`.
        public var type: String { "dream." + rawValue }

        /// The event a dream entering `status` causes: `pending` (a new dream) is `created`.
        public init(status: Dream.Status) {
            switch status {
            case .pending: self = .created
            case .running: self = .running
            case .completed: self = .completed
            case .failed: self = .failed
            case .canceled: self = .canceled
            }
        }
    }

    /// The outbox event of a dream change, `data.id` being the dream id (`drm_…`). Write it in
    /// the same transaction as the change (`SQLiteStore.enqueue([...], db)`), or with
    /// `Store.appendOutboxEvents` when the change is not a store transaction.
    public static func dream(type: DreamEvent, dreamID: String, at date: Date = Timestamp.now(), attributes: [String: String] = [:]) -> OutboxEvent {
        OutboxEvent(type: type.type, resourceID: dreamID, createdAt: date, attributes: attributes)
    }

    /// The outbox event of a dream entering `status` (`pending` → `dream.created`).
    public static func dream(status: Dream.Status, dreamID: String, at date: Date = Timestamp.now()) -> OutboxEvent {
        dream(type: DreamEvent(status: status), dreamID: dreamID, at: date)
    }
}
