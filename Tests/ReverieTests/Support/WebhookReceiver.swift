import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ReverieCore
import ServiceLifecycle
import Synchronization

/// A webhook receiver on a free loopback port that records every request and answers with
/// the status `respond` picks for the n-th request (0-based).
final class WebhookReceiver: Sendable {
    struct Request: Sendable {
        var headers: [String: String]
        var body: Data
        var status: Int
        var receivedAt: Date

        var webhookID: String { headers["webhook-id"] ?? "" }
        var json: JSONValue { (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null }
        var eventType: String { json["data"]?["type"]?.stringValue ?? "" }

        /// Whether the Standard Webhooks signature verifies with `secret`.
        func verifies(with secret: String) -> Bool {
            guard let secret = WebhookSigningSecret(secret), let timestamp = Int64(headers["webhook-timestamp"] ?? ""),
                let signature = headers["webhook-signature"]
            else { return false }
            return WebhookSignature.verify(secret: secret, id: webhookID, timestamp: timestamp, body: body, signatureHeader: signature)
        }
    }

    /// How the receiver answers: a status, optionally after a delay, with a body and headers.
    struct Answer: Sendable {
        var status: Int = 200
        var delay: Duration = .zero
        var body: String = "ok"
        var headers: [(String, String)] = []
    }

    let port: Int
    private let requests = Mutex<[Request]>([])
    private let task: Task<Void, any Error>
    /// Runs the receiver as a service, so `stop()` shuts it down gracefully.
    private let group: ServiceGroup

    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(port: Int, task: Task<Void, any Error>, group: ServiceGroup) {
        self.port = port
        self.task = task
        self.group = group
    }

    static func start(respond: @escaping @Sendable (Int) -> Answer = { _ in Answer() }) async throws -> WebhookReceiver {
        let router = Router()
        let box = ReceiverBox()
        router.post("hook") { request, _ -> Response in
            var copy = request
            let buffer = try await copy.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let index = box.next()
            let answer = respond(index)
            if answer.delay > .zero { try await cancelWhenGracefulShutdown { try await Task.sleep(for: answer.delay) } }
            box.receiver?.record(Request(headers: headers, body: Data(buffer: buffer), status: answer.status, receivedAt: Date()))
            var response = Response(status: .init(code: answer.status), body: .init(byteBuffer: ByteBuffer(string: answer.body)))
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { response.headers[field] = value }
            }
            return response
        }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestFailure("receiver did not start") }
        let receiver = WebhookReceiver(port: port, task: task, group: group)
        box.receiver = receiver
        return receiver
    }

    fileprivate func record(_ request: Request) {
        requests.withLock { $0.append(request) }
    }

    var received: [Request] { requests.withLock { $0 } }

    /// Waits until `predicate` holds for the received requests, or fails after `timeout`.
    @discardableResult
    func wait(timeout: Duration = .seconds(20), until predicate: ([Request]) -> Bool) async throws -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = received
            if predicate(current) { return current }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("receiver: condition not met in time; got \(received.map(\.eventType))")
    }

    /// Stops the receiver gracefully and waits for it (cancelling can trap in NIO, see
    /// `TestServer.stop()`); a delayed answer still pending ends at once.
    func stop() async {
        await group.triggerGracefulShutdown()
        await task.finish(within: .seconds(15))
    }
}

/// Counts requests and lets the route reach the receiver once it exists.
private final class ReceiverBox: Sendable {
    private let state = Mutex<(count: Int, receiver: WebhookReceiver?)>((0, nil))

    func next() -> Int {
        state.withLock { state in
            defer { state.count += 1 }
            return state.count
        }
    }

    var receiver: WebhookReceiver? {
        get { state.withLock { $0.receiver } }
        set { state.withLock { $0.receiver = newValue } }
    }
}
