import Foundation
import ReverieCore

/// Webhook endpoints, the delivery queue fanned out of the outbox, and the attempt log.
///
/// Every state change of a delivery happens in one transaction with the attempt that caused
/// it, so a crash at any point leaves each event either still queued or recorded as delivered:
/// deliveries are at least once.
public protocol WebhookStore: Sendable {
    // MARK: endpoints

    /// Inserts an endpoint with its sealed signing secret; refused when `limit` endpoints exist.
    func createWebhookEndpoint(_ endpoint: WebhookEndpoint, sealedSecret: String, limit: Int) async throws
    func webhookEndpoint(id: String) async throws -> WebhookEndpoint?
    /// Atomic read-modify-write. Disabling abandons the endpoint's pending deliveries (they
    /// fail, and can be re-sent by hand); enabling resets its consecutive-failure count.
    func updateWebhookEndpoint(id: String, _ change: @Sendable (WebhookEndpoint) throws -> WebhookEndpoint) async throws -> WebhookEndpoint
    /// Replaces the sealed signing secret (the old one stops signing at once).
    func replaceWebhookSigningSecret(id: String, sealedSecret: String, at date: Date) async throws -> WebhookEndpoint
    /// Endpoints by creation time (newest first unless `page.order` says otherwise).
    func listWebhookEndpoints(page: IDPageRequest) async throws -> IDPage<WebhookEndpoint>
    /// Deletes an endpoint with its deliveries and attempt log.
    func deleteWebhookEndpoint(id: String) async throws

    // MARK: the outbox and the queue

    /// Moves up to `limit` pending outbox events into deliveries (one per enabled endpoint that
    /// subscribes to the event's type and existed when it happened), first attempt due at `now`,
    /// and marks the events dispatched, in one transaction. Returns how many events it moved.
    func fanOutOutboxEvents(limit: Int, now: Date) async throws -> Int
    /// Yields after each committed transaction that adds outbox events (a wake-up hint; poll too).
    func outboxSignals() -> AsyncStream<Void>
    /// Adds outbox events for changes recorded outside this store's own transactions.
    func appendOutboxEvents(_ events: [OutboxEvent]) async throws
    /// Claims due deliveries of enabled endpoints, oldest due first, at most `limit` in all and
    /// at most `perEndpoint` per endpoint counting the `busy` ones already in flight. An endpoint
    /// that has failed `f` times in a row gets at most `disableAfter - f` attempts in flight, so a
    /// failing streak never sends more than `disableAfter` attempts. Each claimed delivery's next
    /// attempt moves to `leaseUntil`, so a crash mid-send makes it due again then.
    func claimDueWebhookDeliveries(now: Date, leaseUntil: Date, limit: Int, perEndpoint: Int, busy: [String: Int], disableAfter: Int)
        async throws -> [WebhookDispatch]
    /// Logs an attempt and applies its result: success ends the delivery and resets the
    /// endpoint's consecutive failures; failure schedules `retryAt` (nil: the delivery fails)
    /// and, once the endpoint has failed `disableAfter` times in a row, disables it with
    /// `disabledReason` and abandons its other pending deliveries.
    func recordWebhookAttempt(_ attempt: WebhookAttempt, retryAt: Date?, disableAfter: Int, disabledReason: String) async throws
        -> WebhookAttemptOutcome
    /// The endpoint's consecutive failed attempts.
    func webhookConsecutiveFailures(endpointID: String) async throws -> Int

    // MARK: history

    func webhookDelivery(id: String) async throws -> WebhookDelivery?
    /// An endpoint's deliveries by creation time, optionally of one state.
    func listWebhookDeliveries(endpointID: String, state: WebhookDelivery.State?, page: IDPageRequest) async throws
        -> IDPage<WebhookDelivery>
    /// A delivery's attempts by start time.
    func listWebhookAttempts(deliveryID: String, page: IDPageRequest) async throws -> IDPage<WebhookAttempt>
    /// Queues a finished delivery again with a fresh retry round, first attempt due at `now`.
    func requeueWebhookDelivery(id: String, now: Date) async throws -> WebhookDelivery
    /// Forgets dispatched outbox events and finished deliveries (with their attempts) older than `date`.
    func pruneWebhookHistory(before date: Date) async throws
}
