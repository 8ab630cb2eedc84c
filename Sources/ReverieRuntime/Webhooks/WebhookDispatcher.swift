import AsyncHTTPClient
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieStore
import ServiceLifecycle
import Synchronization

/// Delivers webhooks: moves outbox events into per-endpoint deliveries, sends due deliveries
/// concurrently (bounded overall and per endpoint), retries failures with backoff, and
/// disables endpoints that keep failing. All state is in the store, so a restart (or a
/// crash) resumes where it stopped: deliveries are at least once.
///
/// It wakes when the store signals new outbox events, when a delivery finishes, and every
/// `pollInterval` (for retries coming due). On graceful shutdown it stops claiming work and
/// lets attempts in flight finish.
public final class WebhookDispatcher: Service, Sendable {
    let store: any Store
    let configuration: WebhookConfiguration
    let sealer: SecretSealer
    let urlGuard: WebhookURLGuard
    let logger: Logger
    /// Uniform in 0…1, for jitter.
    let random: @Sendable () -> Double
    let telemetry: any Telemetry

    private struct State {
        var inFlight: [String: Int] = [:]
        var wake: AsyncStream<Void>.Continuation?
        /// The outbox may hold new events (a finished delivery only frees room; it adds none).
        var outboxDirty = true
    }

    private let state = Mutex(State())

    public init(
        store: any Store, configuration: WebhookConfiguration, sealer: SecretSealer, resolver: any HostResolver = SystemHostResolver(),
        logger: Logger = Logger(label: "reverie.webhooks"), random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        telemetry: any Telemetry = NoTelemetry()
    ) {
        self.telemetry = telemetry
        self.store = store
        self.configuration = configuration
        self.sealer = sealer
        self.urlGuard = WebhookURLGuard(policy: configuration.addressPolicy, resolver: resolver)
        self.logger = logger
        self.random = random
    }

    /// Asks the dispatcher to look for work now (e.g. after a delivery was re-sent).
    public func wake() {
        wakeForOutbox()
    }

    private func wakeForOutbox() {
        let wake = state.withLock { state in
            state.outboxDirty = true
            return state.wake
        }
        wake?.yield()
    }

    /// Whether the outbox needs a look, clearing the flag.
    private func takeOutboxDirty() -> Bool {
        state.withLock { state in
            defer { state.outboxDirty = false }
            return state.outboxDirty
        }
    }

    public func run() async throws {
        let client = WebhookSender.makeClient(timeout: configuration.requestTimeout, connectionsPerHost: configuration.maxConcurrentPerEndpoint)
        let sender = WebhookSender(
            client: client, urlGuard: urlGuard, timeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes)
        let (signals, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock { $0.wake = wake }
        let outbox = store.outboxSignals()
        let forwarder = Task { for await _ in outbox { self.wakeForOutbox() } }
        let poll = configuration.pollInterval
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: poll)
                self.wakeForOutbox()
            }
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                var lastPrune: ContinuousClock.Instant?
                wake.yield()
                for await _ in signals {
                    if takeOutboxDirty() { await fanOut() }
                    for dispatch in await claim() {
                        group.addTask {
                            await self.deliver(dispatch, sender: sender)
                            self.finished(dispatch.delivery.endpointID)
                        }
                    }
                    if lastPrune.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
                        lastPrune = ContinuousClock.now
                        await prune()
                    }
                }
                // Shutting down: attempts in flight finish (each is bounded by the request timeout).
            }
        } onGracefulShutdown: {
            wake.finish()
        }
        state.withLock { $0.wake = nil }
        forwarder.cancel()
        ticker.cancel()
        try? await client.shutdown()
    }

    /// Moves every pending outbox event into deliveries.
    func fanOut() async {
        let batch = 256
        do {
            while try await store.fanOutOutboxEvents(limit: batch, now: Date()) == batch {}
        } catch is CancellationError {
        } catch {
            logger.error("webhooks: could not move outbox events into deliveries: \(error)")
        }
    }

    /// Claims as many due deliveries as there is room for.
    func claim() async -> [WebhookDispatch] {
        let busy = state.withLock { $0.inFlight }
        let room = configuration.maxConcurrentDeliveries - busy.values.reduce(0, +)
        guard room > 0 else { return [] }
        let now = Date()
        do {
            let claimed = try await store.claimDueWebhookDeliveries(
                now: now, leaseUntil: now.addingTimeInterval(configuration.lease.seconds), limit: room,
                perEndpoint: configuration.maxConcurrentPerEndpoint, busy: busy, disableAfter: configuration.disableAfterConsecutiveFailures)
            state.withLock { state in
                for dispatch in claimed { state.inFlight[dispatch.delivery.endpointID, default: 0] += 1 }
            }
            return claimed
        } catch is CancellationError {
            return []
        } catch {
            logger.error("webhooks: could not claim due deliveries: \(error)")
            return []
        }
    }

    private func finished(_ endpointID: String) {
        let wake = state.withLock { state -> AsyncStream<Void>.Continuation? in
            let count = (state.inFlight[endpointID] ?? 1) - 1
            state.inFlight[endpointID] = count > 0 ? count : nil
            return state.wake
        }
        wake?.yield()
    }

    /// Makes one attempt and records it.
    func deliver(_ dispatch: WebhookDispatch, sender: WebhookSender) async {
        let delivery = dispatch.delivery
        let startedAt = Date()
        let result: WebhookSender.Result
        do {
            let secret = try sealer.open(dispatch.sealedSecret, endpointID: delivery.endpointID)
            let body = try WebhookPayload(
                event: delivery.event, organizationID: configuration.organizationID, workspaceID: configuration.workspaceID
            ).body()
            result = await sender.send(url: dispatch.url, secret: secret, eventID: delivery.event.id, body: body)
        } catch {
            logger.error("webhook delivery could not be prepared", metadata: ["delivery": "\(delivery.id)", "error": "\(String(reflecting: error))"])
            result = WebhookSender.Result(
                statusCode: nil, latencyMilliseconds: 0, error: "the delivery could not be prepared: \(ClientMessage.describe(error))", excerpt: "")
        }
        // Shutting down mid-attempt: record nothing; the lease brings the delivery back.
        if Task.isCancelled { return }
        telemetry.webhookAttempt(succeeded: result.succeeded, seconds: result.latencyMilliseconds / 1000)
        let retryAt = result.succeeded
            ? nil : configuration.retry.delay(afterAttempts: delivery.roundAttempts + 1, random: random()).map { Date().addingTimeInterval($0) }
        let threshold = configuration.disableAfterConsecutiveFailures
        let reason = "Disabled automatically after \(threshold) consecutive failed delivery attempts. The last, at "
            + "\(Timestamp.format(startedAt)) to \(dispatch.url), failed with: \(result.error). Fix the receiver, then set state to enabled."
        let attempt = WebhookAttempt(
            deliveryID: delivery.id, endpointID: delivery.endpointID, eventID: delivery.event.id, number: delivery.attempts + 1,
            startedAt: startedAt, statusCode: result.statusCode, latencyMilliseconds: result.latencyMilliseconds, error: result.error,
            succeeded: result.succeeded, responseExcerpt: result.excerpt)
        do {
            let outcome = try await store.recordWebhookAttempt(attempt, retryAt: retryAt, disableAfter: threshold, disabledReason: reason)
            if outcome.disabledEndpoint {
                logger.warning("webhooks: endpoint \(delivery.endpointID) disabled after \(threshold) consecutive failures; last: \(result.error)")
            } else if !result.succeeded {
                logger.info("webhooks: delivery \(delivery.id) of \(delivery.event.type) to \(delivery.endpointID) failed: \(result.error)")
            }
        } catch {
            logger.error("webhooks: could not record an attempt of delivery \(delivery.id): \(error)")
        }
    }

    func prune() async {
        do {
            try await store.pruneWebhookHistory(before: Date().addingTimeInterval(-configuration.historyRetention.seconds))
        } catch is CancellationError {
        } catch {
            logger.error("webhooks: could not prune old deliveries: \(error)")
        }
    }
}
