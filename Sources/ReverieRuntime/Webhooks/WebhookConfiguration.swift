import Foundation
import ReverieCore

/// How webhooks are accepted and delivered.
public struct WebhookConfiguration: Sendable {
    /// Deliver from this process. Off: endpoints can still be managed and events wait in
    /// the outbox until a process with delivery on picks them up.
    public var deliveryEnabled: Bool
    /// Which receiver addresses are accepted (checked at create/update and before every attempt).
    public var addressPolicy: WebhookAddressPolicy
    /// Limit on one attempt: resolving, connecting, and receiving the response head.
    public var requestTimeout: Duration
    /// Bytes of a response body read (and kept as the attempt's excerpt); the rest is dropped.
    public var maxResponseBytes: Int
    public var maxConcurrentDeliveries: Int
    public var maxConcurrentPerEndpoint: Int
    /// How often the queue is checked when nothing signals new work.
    public var pollInterval: Duration
    public var retry: WebhookRetryPolicy
    /// Consecutive failed attempts after which an endpoint is disabled.
    public var disableAfterConsecutiveFailures: Int
    /// How long dispatched outbox events and finished deliveries are kept.
    public var historyRetention: Duration
    /// `data.organization_id` and `data.workspace_id` of payloads (Reverie has one of each).
    public var organizationID: String
    public var workspaceID: String

    public init(
        deliveryEnabled: Bool = true, addressPolicy: WebhookAddressPolicy = WebhookAddressPolicy(), requestTimeout: Duration = .seconds(10),
        maxResponseBytes: Int = 4096, maxConcurrentDeliveries: Int = 32, maxConcurrentPerEndpoint: Int = 8,
        pollInterval: Duration = .milliseconds(250), retry: WebhookRetryPolicy = .standard, disableAfterConsecutiveFailures: Int = 20,
        historyRetention: Duration = .seconds(30 * 86_400), organizationID: String = "org_reverie", workspaceID: String = "wrkspc_default"
    ) {
        self.deliveryEnabled = deliveryEnabled
        self.addressPolicy = addressPolicy
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxConcurrentDeliveries = max(1, maxConcurrentDeliveries)
        self.maxConcurrentPerEndpoint = max(1, maxConcurrentPerEndpoint)
        self.pollInterval = pollInterval
        self.retry = retry
        self.disableAfterConsecutiveFailures = max(1, disableAfterConsecutiveFailures)
        self.historyRetention = historyRetention
        self.organizationID = organizationID
        self.workspaceID = workspaceID
    }

    /// How long a claimed delivery stays reserved for the process sending it: if that process
    /// dies mid-send, the delivery becomes due again after this.
    public var lease: Duration { requestTimeout * 2 + .seconds(5) }
}
