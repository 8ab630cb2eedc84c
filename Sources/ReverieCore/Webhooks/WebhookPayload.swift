import Foundation

/// The body of a delivery: a thin envelope naming what changed, shaped like the official
/// SDK's `BetaWebhookEvent`:
/// `{"type":"event","id":"wevt_…","created_at":…,"data":{"type":"session.idled","id":"sesn_…",
/// "organization_id":…,"workspace_id":…}}`. Receivers fetch the resource for details.
public struct WebhookPayload: Sendable {
    public var event: OutboxEvent
    public var organizationID: String
    public var workspaceID: String

    public init(event: OutboxEvent, organizationID: String, workspaceID: String) {
        self.event = event
        self.organizationID = organizationID
        self.workspaceID = workspaceID
    }

    /// The envelope as JSON.
    public var json: JSONValue {
        var data: [String: JSONValue] = [
            "type": .string(event.type), "id": .string(event.resourceID), "organization_id": .string(organizationID),
            "workspace_id": .string(workspaceID),
        ]
        for (key, value) in event.attributes where data[key] == nil { data[key] = .string(value) }
        return [
            "type": "event", "id": .string(event.id), "created_at": .string(Timestamp.format(event.createdAt)), "data": .object(data),
        ]
    }

    /// The exact bytes sent (keys sorted, so every attempt sends the same body).
    public func body() throws -> Data {
        try JSONCoding.data(json)
    }
}
