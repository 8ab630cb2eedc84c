import Foundation

/// One event on its way to one endpoint: created when the event is fanned out of the
/// outbox, retried until it succeeds or its retries run out. Every attempt carries the
/// same `webhook-id` (the event id), so receivers can drop duplicates.
public struct WebhookDelivery: Encodable, Sendable, Equatable {
    public enum State: String, Encodable, Sendable, CaseIterable {
        /// Waiting for its next attempt (or being attempted now).
        case pending
        /// A 2xx response was received.
        case succeeded
        /// Retries ran out, or the endpoint was disabled; can be re-sent by hand.
        case failed
    }

    public var id: String
    public var endpointID: String
    public var event: OutboxEvent
    public var state: State
    /// Attempts made so far, over the delivery's whole life.
    public var attempts: Int
    /// Attempts since the delivery was created or last re-sent by hand (drives the backoff).
    public var roundAttempts: Int
    /// When the next attempt is due (pending deliveries only).
    public var nextAttemptAt: Date?
    public var lastAttemptAt: Date?
    public var lastStatusCode: Int?
    /// Why the last attempt (or the delivery) failed; empty when it did not.
    public var lastError: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, endpointID: String, event: OutboxEvent, state: State = .pending, attempts: Int = 0, roundAttempts: Int = 0,
        nextAttemptAt: Date?, lastAttemptAt: Date? = nil, lastStatusCode: Int? = nil, lastError: String = "", createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.endpointID = endpointID
        self.event = event
        self.state = state
        self.attempts = attempts
        self.roundAttempts = roundAttempts
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, state, attempts
        case endpointID = "webhook_endpoint_id"
        case eventID = "event_id"
        case eventType = "event_type"
        case resourceID = "resource_id"
        case eventCreatedAt = "event_created_at"
        case nextAttemptAt = "next_attempt_at"
        case lastAttemptAt = "last_attempt_at"
        case lastStatusCode = "last_status_code"
        case lastError = "last_error"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }


    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("webhook_delivery", forKey: .type)
        try container.encode(id, forKey: .id)
        try container.encode(endpointID, forKey: .endpointID)
        try container.encode(event.id, forKey: .eventID)
        try container.encode(event.type, forKey: .eventType)
        try container.encode(event.resourceID, forKey: .resourceID)
        try container.encode(event.createdAt, forKey: .eventCreatedAt)
        try container.encode(state, forKey: .state)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try container.encode(lastAttemptAt, forKey: .lastAttemptAt)
        try container.encode(lastStatusCode, forKey: .lastStatusCode)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// One HTTP attempt of a delivery, as logged.
public struct WebhookAttempt: Encodable, Sendable, Equatable {
    public var id: String
    public var deliveryID: String
    public var endpointID: String
    public var eventID: String
    /// 1 for the first attempt of the delivery, counting on across re-sends.
    public var number: Int
    public var startedAt: Date
    /// The response status, nil when no response arrived (refused, unreachable, timed out).
    public var statusCode: Int?
    /// Milliseconds from the start of the attempt to the response head (or the failure).
    public var latencyMilliseconds: Double
    /// Why the attempt failed; empty when it succeeded.
    public var error: String
    public var succeeded: Bool
    /// The start of the response body (capped), for diagnosis.
    public var responseExcerpt: String

    public init(
        id: String = ResourceID.make(ResourceID.webhookAttempt), deliveryID: String, endpointID: String, eventID: String, number: Int,
        startedAt: Date, statusCode: Int?, latencyMilliseconds: Double, error: String, succeeded: Bool, responseExcerpt: String = ""
    ) {
        self.id = id
        self.deliveryID = deliveryID
        self.endpointID = endpointID
        self.eventID = eventID
        self.number = number
        self.startedAt = startedAt
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.error = error
        self.succeeded = succeeded
        self.responseExcerpt = responseExcerpt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, number, error, succeeded
        case deliveryID = "delivery_id"
        case endpointID = "webhook_endpoint_id"
        case eventID = "event_id"
        case startedAt = "started_at"
        case statusCode = "status_code"
        case latencyMilliseconds = "latency_ms"
        case responseExcerpt = "response_excerpt"
    }


    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("webhook_delivery_attempt", forKey: .type)
        try container.encode(id, forKey: .id)
        try container.encode(deliveryID, forKey: .deliveryID)
        try container.encode(endpointID, forKey: .endpointID)
        try container.encode(eventID, forKey: .eventID)
        try container.encode(number, forKey: .number)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(statusCode, forKey: .statusCode)
        try container.encode(latencyMilliseconds, forKey: .latencyMilliseconds)
        try container.encode(error, forKey: .error)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(responseExcerpt, forKey: .responseExcerpt)
    }
}

/// A due delivery handed to the sender: the delivery, where it goes, and the endpoint's
/// sealed signing secret.
public struct WebhookDispatch: Sendable, Equatable {
    public var delivery: WebhookDelivery
    public var url: String
    public var sealedSecret: String

    public init(delivery: WebhookDelivery, url: String, sealedSecret: String) {
        self.delivery = delivery
        self.url = url
        self.sealedSecret = sealedSecret
    }
}

/// What recording an attempt did.
public struct WebhookAttemptOutcome: Sendable, Equatable {
    /// The delivery after the attempt (nil when it no longer exists, e.g. its endpoint was deleted).
    public var delivery: WebhookDelivery?
    /// Whether this attempt's failure disabled the endpoint.
    public var disabledEndpoint: Bool

    public init(delivery: WebhookDelivery?, disabledEndpoint: Bool) {
        self.delivery = delivery
        self.disabledEndpoint = disabledEndpoint
    }
}

extension ResourceID {
    /// Webhook delivery attempts (`whatt_…`).
    public static let webhookAttempt = "whatt"
}
