import AsyncHTTPClient
import Foundation
import NIOCore
import ReverieCore
import Synchronization

/// Makes one signed delivery attempt: checks the receiver's address, POSTs the payload with
/// Standard Webhooks headers, and reports the status, latency and a capped body excerpt.
/// Redirects are not followed (a 3xx is a failure).
public struct WebhookSender: Sendable {
    public static let userAgent = "Reverie-Webhooks/1.0"

    let client: HTTPClient
    let urlGuard: WebhookURLGuard
    let timeout: Duration
    let maxResponseBytes: Int

    public init(client: HTTPClient, urlGuard: WebhookURLGuard, timeout: Duration, maxResponseBytes: Int) {
        self.client = client
        self.urlGuard = urlGuard
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// An HTTP client set up for deliveries: no redirects, connect and read timeouts, and a
    /// refused or reset connection fails the attempt at once (the retry schedule decides
    /// when to try again) instead of being retried until the timeout.
    public static func makeClient(timeout: Duration, connectionsPerHost: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        let amount = TimeAmount.milliseconds(Int64(timeout.seconds * 1000))
        configuration.timeout = .init(connect: amount, read: amount)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, connectionsPerHost)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// What one attempt observed.
    public struct Result: Sendable, Equatable {
        public var statusCode: Int?
        public var latencyMilliseconds: Double
        public var error: String
        public var excerpt: String
        public var succeeded: Bool { error.isEmpty }
    }

    /// Sends `body` to `url`, signed with `secret`, as event `eventID`. Never throws: every
    /// failure (refused address, connection error, timeout, non-2xx status) is in the result.
    public func send(url: String, secret: WebhookSigningSecret, eventID: String, body: Data) async -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: timeout)
        func elapsed() -> Double { (clock.now - start).seconds * 1000 }
        func failure(_ error: String, status: Int? = nil, excerpt: String = "") -> Result {
            Result(statusCode: status, latencyMilliseconds: elapsed(), error: error, excerpt: excerpt)
        }

        let verdict = await Self.within(deadline - clock.now) { await urlGuard.check(url) }
        let host: String
        let addresses: [NetworkAddress]
        switch verdict {
        case nil: return failure("timed out resolving the receiver's host after \(Self.format(timeout))")
        case .refused(let reason)?: return failure("refused: \(reason)")
        case .allowed(let name, let resolved)?: (host, addresses) = (name, resolved)
        }
        guard let target = WebhookURLGuard.destination(url: url, host: host, addresses: addresses) else {
            return failure("refused: not a valid absolute URL")
        }

        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        if let hostHeader = target.hostHeader { request.headers.add(name: "host", value: hostHeader) }
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: Self.userAgent)
        for (name, value) in WebhookSignature.headers(secret: secret, id: eventID, timestamp: Int64(Date().timeIntervalSince1970), body: body) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            let remaining = deadline - clock.now
            response = try await client.execute(request, deadline: .now() + .nanoseconds(Int64(max(0, remaining.seconds) * 1e9)))
        } catch {
            if Task.isCancelled { return failure("canceled: the server is shutting down") }
            return failure(Self.describe(error, timeout: timeout))
        }
        let latency = elapsed()
        let status = Int(response.status.code)
        let limit = maxResponseBytes
        let excerpt = await Self.within(max(deadline - clock.now, .milliseconds(250))) { await Self.readExcerpt(response, limit: limit) } ?? ""
        if (200..<300).contains(status) {
            return Result(statusCode: status, latencyMilliseconds: latency, error: "", excerpt: excerpt)
        }
        let reason = (300..<400).contains(status) ? "HTTP \(status) (redirects are not followed)" : "HTTP \(status)"
        return Result(statusCode: status, latencyMilliseconds: latency, error: reason, excerpt: excerpt)
    }

    /// The first `limit` bytes of the body; the rest is not read.
    static func readExcerpt(_ response: HTTPClientResponse, limit: Int) async -> String {
        var collected: [UInt8] = []
        do {
            for try await chunk in response.body {
                collected.append(contentsOf: chunk.readableBytesView.prefix(limit - collected.count))
                if collected.count >= limit { break }
            }
        } catch {}
        return String(decoding: collected, as: UTF8.self)
    }

    /// Runs `operation`, giving up (nil) after `duration` even when the operation does not
    /// respond to cancellation (a blocking DNS lookup); it is cancelled and left to finish.
    static func within<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async -> T) async -> T? {
        let race = Race<T?>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                race.start(continuation)
                let work = Task { race.finish(await operation()) }
                let timer = Task {
                    try? await Task.sleep(for: max(duration, .zero))
                    race.finish(nil)
                }
                race.attach([work, timer])
            }
        } onCancel: {
            race.finish(nil)
        }
    }

    static func describe(_ error: any Error, timeout: Duration) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return "timed out after \(format(timeout))"
            default:
                return "request failed: \(error)"
            }
        }
        return "connection failed: \(error)"
    }

    static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%.1f s", seconds)
    }
}

/// The first of several tasks to finish resumes the waiter; the others are cancelled.
final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, Never>?
        var result: T?
        var done = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, Never>) {
        let early: T? = state.withLock { state in
            if state.done { return state.result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func attach(_ tasks: [Task<Void, Never>]) {
        let cancel = state.withLock { state in
            if state.done { return true }
            state.tasks = tasks
            return false
        }
        if cancel { tasks.forEach { $0.cancel() } }
    }

    func finish(_ value: T) {
        let (continuation, tasks): (CheckedContinuation<T, Never>?, [Task<Void, Never>]) = state.withLock { state in
            guard !state.done else { return (nil, []) }
            state.done = true
            state.result = value
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        tasks.forEach { $0.cancel() }
        continuation?.resume(returning: value)
    }
}
