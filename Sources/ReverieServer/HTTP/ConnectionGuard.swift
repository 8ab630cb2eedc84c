import NIOCore
import NIOHTTPTypes
import Synchronization

/// Open connections per client address, shared by every connection's `ConnectionGuard`.
final class ConnectionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    /// Counts a new connection from `address`; false (and not counted) when it would exceed `limit`.
    func open(_ address: String, limit: Int) -> Bool {
        counts.withLock { counts in
            let current = counts[address, default: 0]
            guard limit <= 0 || current < limit else { return false }
            counts[address] = current + 1
            return true
        }
    }

    func close(_ address: String) {
        counts.withLock { counts in
            let remaining = counts[address, default: 1] - 1
            counts[address] = remaining > 0 ? remaining : nil
        }
    }

    /// Open connections from `address` (tests and diagnostics).
    func count(_ address: String) -> Int { counts.withLock { $0[address, default: 0] } }
}

/// Protects the server from clients that hold connections without making progress: a new
/// connection must send a request head within `headTimeout`; an idle kept-alive connection is
/// closed after `keepAliveTimeout`; a request body may pause at most `bodyTimeout` between
/// parts; a client that stops reading a response is disconnected after `writeStallTimeout`;
/// and one address may hold at most `maxConnectionsPerAddress` connections. Sits in each
/// connection's pipeline after HTTP decoding.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let counter: ConnectionCounter
    private var address: String?
    private var active = false
    private var requestsReceived = 0
    private var responsesSent = 0
    private var readingBody = false
    /// The response being written says `Connection: close`: close once it ends.
    private var closeAfterResponse = false
    private var timer: Scheduled<Void>?
    private var stallTimer: Scheduled<Void>?

    init(limits: ConnectionLimits, counter: ConnectionCounter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { activate(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deactivate()
    }

    func channelActive(context: ChannelHandlerContext) {
        activate(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deactivate()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestsReceived += 1
            readingBody = true
            schedule(context, after: limits.bodyTimeout)
        case .body:
            if readingBody { schedule(context, after: limits.bodyTimeout) }
        case .end:
            readingBody = false
            cancelTimer()
            if responsesSent >= requestsReceived { schedule(context, after: limits.keepAliveTimeout) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.headerFields[.connection]?.lowercased() == "close" { closeAfterResponse = true }
        case .body:
            break
        case .end:
            if closeAfterResponse {
                context.writeAndFlush(data, promise: promise)
                context.close(promise: nil)
                return
            }
            responsesSent += 1
            // Idle until the next request: the keep-alive limit applies.
            if responsesSent >= requestsReceived, !readingBody { schedule(context, after: limits.keepAliveTimeout) }
        }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
        } else if stallTimer == nil {
            stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.amount(limits.writeStallTimeout)) {
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    private func activate(_ context: ChannelHandlerContext) {
        guard !active else { return }
        active = true
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.open(address, limit: limits.maxConnectionsPerAddress) else {
            context.close(promise: nil)
            return
        }
        self.address = address
        schedule(context, after: limits.headTimeout)
    }

    private func deactivate() {
        cancelTimer()
        stallTimer?.cancel()
        stallTimer = nil
        if let address {
            counter.close(address)
            self.address = nil
        }
    }

    private func schedule(_ context: ChannelHandlerContext, after duration: Duration) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.amount(duration)) {
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
