import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ReverieCore
import ReverieRuntime
import ReverieServer
import ReverieStore
import Synchronization

/// `reverie bench webhooks`: deliveries per second to a fast local receiver, and the delay
/// from a session going idle to its webhook arriving.
struct BenchWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Webhook deliveries per second to a local receiver, and session-idle-to-webhook delay (p50/p99).")

    @Option(help: "Events queued at once for the throughput phase.")
    var events = 5000

    @Option(help: "Sessions going idle, one after another, for the delay phase.")
    var idles = 300

    @Option(name: .customLong("concurrency"), help: "Deliveries in flight at once (per endpoint too).")
    var concurrency = 32

    @Option(name: .customLong("poll-ms"), help: "The dispatcher's poll interval in milliseconds.")
    var pollMilliseconds = 250

    func run() async throws {
        let receiver = try await BenchReceiver.start()
        let (concurrency, pollMilliseconds) = (self.concurrency, self.pollMilliseconds)
        let harness = try await BenchHarness.start(dataDirectory: nil) { configuration in
            configuration.webhooks = WebhookConfiguration(
                addressPolicy: WebhookAddressPolicy(allowPrivateNetworks: true), maxConcurrentDeliveries: concurrency,
                maxConcurrentPerEndpoint: concurrency, pollInterval: .milliseconds(pollMilliseconds))
        }
        let platform = harness.host.platform
        print("reverie bench webhooks: receiver on loopback, \(concurrency) deliveries in flight, poll \(pollMilliseconds) ms")

        // Throughput: queue `events` events at once, time until the receiver has them all.
        _ = try await platform.webhooks.createWebhookEndpoint(
            try WebhookEndpointRequest(ObjectReader(["url": .string(receiver.url), "enabled_events": ["dream.completed"]]), creating: true, allowPlainHTTP: platform.webhooks.allowsPlainHTTP))
        let start = ContinuousClock.now
        for batch in stride(from: 0, to: events, by: 500) {
            try await harness.host.store.appendOutboxEvents(
                (batch..<min(events, batch + 500)).map { OutboxEvent(type: "dream.completed", resourceID: "drm_\($0)") })
        }
        try await receiver.waitForCount(events, timeout: .seconds(600))
        let elapsed = (ContinuousClock.now - start).seconds
        print("throughput:  \(formatted(Double(events) / elapsed, 0)) deliveries/s (\(events) events in \(formatted(elapsed, 2)) s)")

        // Delay: a session goes idle; how long until its session.idled webhook arrives.
        _ = try await platform.webhooks.createWebhookEndpoint(
            try WebhookEndpointRequest(ObjectReader(["url": .string(receiver.url), "enabled_events": ["session.idled"]]), creating: true, allowPlainHTTP: platform.webhooks.allowsPlainHTTP))
        let agent = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "bench", "model": "bench-model"])))
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "bench"]), creating: true))
        let session = try await platform.sessions.createSession(
            try SessionCreateRequest(ObjectReader(["agent": .string(agent.id), "environment_id": .string(environment.id)])))
        var delays: [Double] = []
        for _ in 0..<idles {
            try await platform.log.append([SessionEvent(type: .sessionStatusRunning)], to: session.id)
            let before = receiver.count(of: "session.idled")
            let idleAt = ContinuousClock.now
            try await platform.log.append([SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]])], to: session.id)
            let arrived = try await receiver.waitForArrival(of: "session.idled", after: before, timeout: .seconds(30))
            delays.append((arrived - idleAt).seconds * 1000)
            try await Task.sleep(for: .milliseconds(Int.random(in: 5...25)))
        }
        delays.sort()
        print("idle→webhook: p50 \(formatted(percentile(delays, 50), 2)) ms, p99 \(formatted(percentile(delays, 99), 2)) ms, max \(formatted(delays.last ?? .nan, 2)) ms (\(idles) idles)")

        try await harness.stop()
        await receiver.stop()
    }
}

/// A receiver that answers 204 at once and records when each event type arrived.
final class BenchReceiver: Sendable {
    let port: Int
    private let arrivals = Mutex<[String: [ContinuousClock.Instant]]>([:])
    private let total = Mutex(0)
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    static func start() async throws -> BenchReceiver {
        let holder = Mutex<BenchReceiver?>(nil)
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let now = ContinuousClock.now
            var copy = request
            let body = try await copy.collectBody(upTo: 1 << 16)
            holder.withLock { $0 }?.record(BenchReceiver.eventType(String(buffer: body)), at: now)
            return Response(status: .noContent)
        }
        var logger = Logger(label: "bench-receiver")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await application.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw ValidationError("receiver did not start") }
        let receiver = BenchReceiver(port: port, task: task)
        holder.withLock { $0 = receiver }
        return receiver
    }

    /// `data.type` of a payload, found without a JSON decoder so the receiver stays cheap
    /// (payload keys are sorted: `data` holds `id`, `organization_id`, then `type`).
    private static func eventType(_ body: String) -> String {
        guard let data = body.range(of: #""data":{"#), let key = body.range(of: #""type":""#, range: data.upperBound..<body.endIndex),
            let end = body[key.upperBound...].firstIndex(of: "\"")
        else { return "" }
        return String(body[key.upperBound..<end])
    }

    private func record(_ type: String, at instant: ContinuousClock.Instant) {
        arrivals.withLock { $0[type, default: []].append(instant) }
        total.withLock { $0 += 1 }
    }

    func count(of type: String) -> Int { arrivals.withLock { $0[type]?.count ?? 0 } }

    func waitForCount(_ count: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while total.withLock({ $0 }) < count {
            guard ContinuousClock.now < deadline else { throw ValidationError("only \(total.withLock { $0 }) of \(count) deliveries arrived") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Waits for the arrival after the first `after` arrivals of `type`, returning when it came.
    func waitForArrival(of type: String, after: Int, timeout: Duration) async throws -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let instant = arrivals.withLock({ $0[type].flatMap { $0.count > after ? $0[after] : nil } }) { return instant }
            guard ContinuousClock.now < deadline else { throw ValidationError("\(type) webhook did not arrive") }
            try await Task.sleep(for: .microseconds(200))
        }
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
