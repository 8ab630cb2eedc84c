import Foundation

/// A webhook endpoint, shaped like the official SDK's `BetaOrganizationWebhookEndpoint`.
///
/// The signing secret is not part of this value: it is stored sealed, returned only by
/// creation and rotation, and opened only to sign deliveries.
public struct WebhookEndpoint: Codable, Sendable, Equatable {
    /// Whether deliveries are sent (`enabled`) or not (`disabled`).
    public enum State: String, Codable, Sendable {
        case enabled
        case disabled
    }

    public var id: String
    /// Where deliveries are POSTed.
    public var url: String
    /// A short label; empty when none was given.
    public var name: String
    /// Notes; empty when none were given.
    public var description: String
    /// The event types delivered, in the order given, without duplicates.
    public var enabledEvents: [String]
    public var state: State
    /// Why Reverie disabled the endpoint automatically; empty when enabled or disabled by a person.
    public var disabledReason: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, url: String, name: String = "", description: String = "", enabledEvents: [String], state: State = .enabled,
        disabledReason: String = "", createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.url = url
        self.name = name
        self.description = description
        self.enabledEvents = enabledEvents
        self.state = state
        self.disabledReason = disabledReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, url, name, description, state
        case enabledEvents = "enabled_events"
        case disabledReason = "disabled_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// Whether an event of `type` goes to this endpoint (ignoring its state).
    public func subscribes(to type: String) -> Bool {
        enabledEvents.contains(type)
    }

    /// The most endpoints a server keeps (the SDK's documented limit per organization).
    public static let maxEndpoints = 32
    public static let maxURLLength = 2048
    public static let maxNameLength = 256
    public static let maxDescriptionLength = 2048
}

/// The response to creating an endpoint: the endpoint plus its signing secret, shown once
/// (the SDK's `BetaNewOrganizationWebhookEndpoint`).
public struct NewWebhookEndpoint: Encodable, Sendable {
    public var endpoint: WebhookEndpoint
    public var signingSecret: String

    public init(endpoint: WebhookEndpoint, signingSecret: String) {
        self.endpoint = endpoint
        self.signingSecret = signingSecret
    }

    enum CodingKeys: String, CodingKey {
        case signingSecret = "signing_secret"
    }

    public func encode(to encoder: any Encoder) throws {
        try endpoint.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(signingSecret, forKey: .signingSecret)
    }
}
