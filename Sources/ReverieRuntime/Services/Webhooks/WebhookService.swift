import Foundation
import ReverieCore
import ReverieStore

/// `/v1/organizations/webhooks` and Reverie's delivery history.
public struct WebhookService: Sendable {
    let store: any WebhookStore
    let context: WebhookContext

    public init(store: any WebhookStore, context: WebhookContext) {
        self.store = store
        self.context = context
    }
}

extension WebhookService {
    /// Whether receiver URLs may be plain `http://` (only when private networks are allowed,
    /// i.e. for receivers on the server's own network); the request parser needs to know.
    public var allowsPlainHTTP: Bool { context.urlGuard.policy.allowPrivateNetworks }

    /// `POST /v1/organizations/webhooks`: the response carries the signing secret, once.
    public func createWebhookEndpoint(_ request: WebhookEndpointRequest) async throws -> NewWebhookEndpoint {
        if let url = request.url { try await checkReceiver(url, context: context) }
        let now = Timestamp.now()
        let endpoint = request.makeEndpoint(id: ResourceID.make(ResourceID.webhookEndpoint, at: now), now: now)
        let secret = WebhookSigningSecret.generate()
        try await store.createWebhookEndpoint(
            endpoint, sealedSecret: try context.sealer.seal(secret, endpointID: endpoint.id), limit: WebhookEndpoint.maxEndpoints)
        return NewWebhookEndpoint(endpoint: endpoint, signingSecret: secret.text)
    }

    /// `GET /v1/organizations/webhooks/{id}`.
    public func webhookEndpoint(id: String) async throws -> WebhookEndpoint {
        guard ResourceID.hasPrefix(id, ResourceID.webhookEndpoint), let endpoint = try await store.webhookEndpoint(id: id) else {
            throw APIError.notFound("webhook endpoint", id)
        }
        return endpoint
    }

    /// `POST /v1/organizations/webhooks/{id}`: only the fields sent change; an empty
    /// `enabled_events` leaves the set unchanged; `state: enabled` clears `disabled_reason`.
    public func updateWebhookEndpoint(id: String, _ request: WebhookEndpointRequest) async throws -> WebhookEndpoint {
                _ = try await webhookEndpoint(id: id)
        if let url = request.url { try await checkReceiver(url, context: context) }
        let now = Timestamp.now()
        let updated = try await store.updateWebhookEndpoint(id: id) { current in request.applied(to: current, now: now) }
        if updated.state == .enabled { context.dispatcher?.wake() }
        return updated
    }

    /// `GET /v1/organizations/webhooks`.
    public func listWebhookEndpoints(page: IDPageRequest) async throws -> IDPage<WebhookEndpoint> {
        try await store.listWebhookEndpoints(page: page)
    }

    /// `DELETE /v1/organizations/webhooks/{id}`: the endpoint, its deliveries and attempt log go.
    public func deleteWebhookEndpoint(id: String) async throws {
        _ = try await webhookEndpoint(id: id)
        try await store.deleteWebhookEndpoint(id: id)
    }

    /// `POST /v1/organizations/webhooks/{id}/regenerate_signing_secret`: the old secret stops
    /// working at once; the new one is returned only here.
    public func regenerateWebhookSigningSecret(id: String) async throws -> String {
                _ = try await webhookEndpoint(id: id)
        let secret = WebhookSigningSecret.generate()
        _ = try await store.replaceWebhookSigningSecret(id: id, sealedSecret: try context.sealer.seal(secret, endpointID: id), at: Timestamp.now())
        return secret.text
    }

    /// `GET /v1/organizations/webhooks/{id}/deliveries` (Reverie extension).
    public func listWebhookDeliveries(endpointID: String, state: WebhookDelivery.State?, page: IDPageRequest) async throws
        -> IDPage<WebhookDelivery>
    {
        _ = try await webhookEndpoint(id: endpointID)
        return try await store.listWebhookDeliveries(endpointID: endpointID, state: state, page: page)
    }

    /// `GET /v1/organizations/webhooks/{id}/deliveries/{delivery_id}` (Reverie extension).
    public func webhookDelivery(endpointID: String, id: String) async throws -> WebhookDelivery {
        _ = try await webhookEndpoint(id: endpointID)
        guard let delivery = try await store.webhookDelivery(id: id), delivery.endpointID == endpointID else {
            throw APIError.notFound("webhook delivery", id)
        }
        return delivery
    }

    /// `GET /v1/organizations/webhooks/{id}/deliveries/{delivery_id}/attempts` (Reverie extension).
    public func listWebhookAttempts(endpointID: String, deliveryID: String, page: IDPageRequest) async throws -> IDPage<WebhookAttempt> {
        _ = try await webhookDelivery(endpointID: endpointID, id: deliveryID)
        return try await store.listWebhookAttempts(deliveryID: deliveryID, page: page)
    }

    /// `POST /v1/organizations/webhooks/{id}/deliveries/{delivery_id}/resend` (Reverie
    /// extension): queues a finished delivery again, with the same `webhook-id` and a fresh
    /// round of retries.
    public func resendWebhookDelivery(endpointID: String, deliveryID: String) async throws -> WebhookDelivery {
        _ = try await webhookDelivery(endpointID: endpointID, id: deliveryID)
        let delivery = try await store.requeueWebhookDelivery(id: deliveryID, now: Timestamp.now())
        context.dispatcher?.wake()
        return delivery
    }

    /// Refuses receiver URLs whose host resolves to an address the server does not allow.
    func checkReceiver(_ url: String, context: WebhookContext) async throws {
        if case .refused(let reason) = await context.urlGuard.check(url) {
            throw APIError.invalidRequest("url: \(reason)")
        }
    }
}
