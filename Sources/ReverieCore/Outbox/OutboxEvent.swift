import Foundation

/// A change other systems may be told about (`session.idled`, `agent.created`, `dream.completed`):
/// written to the outbox in the same transaction as the change itself, so a crash between
/// the change and its notification loses nothing. Webhook delivery reads the outbox.
public struct OutboxEvent: Sendable, Equatable, Codable {
    /// The webhook event id (`wevt_…`), stable across delivery attempts.
    public var id: String
    /// The webhook event type, e.g. `session.idled`.
    public var type: String
    /// The id of the resource that changed.
    public var resourceID: String
    public var createdAt: Date
    /// Further members of the webhook payload's `data` (e.g. `session_thread_id`).
    public var attributes: [String: String]

    public init(
        id: String = ResourceID.make(ResourceID.webhookEvent), type: String, resourceID: String, createdAt: Date = Timestamp.now(),
        attributes: [String: String] = [:]
    ) {
        self.id = id
        self.type = type
        self.resourceID = resourceID
        self.createdAt = createdAt
        self.attributes = attributes
    }

    enum CodingKeys: String, CodingKey {
        case id, type, attributes
        case resourceID = "resource_id"
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        type = try container.decode(String.self, forKey: .type)
        resourceID = try container.decode(String.self, forKey: .resourceID)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        attributes = try container.decodeIfPresent([String: String].self, forKey: .attributes) ?? [:]
    }

    /// The outbox events a session log entry causes. A status change is announced twice, as
    /// the SDK's union has it: `session.running` with `session.status_run_started`, and
    /// `session.idled` (or `session.requires_action`) with `session.status_idled`.
    public static func forSessionEvent(_ event: SessionEvent, sessionID: String) -> [OutboxEvent] {
        let types: [String]
        switch event.type {
        case .sessionStatusRunning: types = ["session.running", "session.status_run_started"]
        case .sessionStatusIdle:
            types = [event.fields["stop_reason"]?["type"] == "requires_action" ? "session.requires_action" : "session.idled", "session.status_idled"]
                + (event.fields["stop_reason"]?["type"] == "budget_reached" ? ["session.budget_reached"] : [])
        case .sessionStatusTerminated: types = ["session.status_terminated"]
        case .sessionStatusRescheduled: types = ["session.status_rescheduled"]
        case .spanOutcomeEvaluationEnd: types = ["session.outcome_evaluation_ended"]
        case .sessionThreadCreated: types = ["session.thread_created"]
        case .sessionThreadStatusIdle: types = ["session.thread_idled"]
        case .sessionThreadStatusTerminated: types = ["session.thread_terminated"]
        default: return []
        }
        return types.compactMap { type in
            // Session-level notices come from the primary thread only; thread notices name their thread.
            let threadScoped = WebhookEventType.threadScoped.contains(type)
            guard threadScoped == (event.threadID != nil) else { return nil }
            var attributes: [String: String] = [:]
            if threadScoped, let threadID = event.threadID { attributes["session_thread_id"] = threadID }
            return OutboxEvent(type: type, resourceID: sessionID, createdAt: event.processedAt, attributes: attributes)
        }
    }
}
