import Logging
import NIOCore
import NIOPosix

/// Runs inside the sandbox (in the in-sandbox helper process): listens on TCP `127.0.0.1:<port>` and
/// forwards every accepted connection, both ways, to the egress proxy's Unix domain socket bound into
/// the sandbox, so tools can use `HTTP_PROXY=http://127.0.0.1:<port>` and `HTTPS_PROXY` as usual.
/// It reads nothing of what it forwards: the proxy applies the policy.
public actor LoopbackForwarder {
    /// The egress proxy's socket, as seen inside the sandbox.
    public nonisolated let proxySocketPath: String
    private let requestedPort: Int
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private var running: (loop: AcceptLoop, port: Int)?
    private var isStarting = false

    /// A forwarder to `proxySocketPath`.
    /// - Parameters:
    ///   - proxySocketPath: The egress proxy's Unix domain socket.
    ///   - port: The loopback port to listen on; 0 lets the system choose (see `port` after `start()`).
    ///   - eventLoopGroup: Where sockets run; the shared singleton by default.
    ///   - logger: Receives a debug line when the proxy socket cannot be reached.
    public init(
        proxySocketPath: String,
        port: Int = 0,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "reverie.loopback-forwarder")
    ) {
        self.proxySocketPath = proxySocketPath
        self.requestedPort = port
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The bound port while running, else nil.
    public var port: Int? { running?.port }

    /// Starts listening on `127.0.0.1` and returns the bound port. Throws when already running or
    /// binding fails.
    @discardableResult
    public func start() async throws -> Int {
        guard running == nil, !isStarting else { throw EgressProxyError.alreadyRunning }
        isStarting = true
        defer { isStarting = false }
        let listener = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: "127.0.0.1", port: requestedPort) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try AcceptLoop.Connection(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        let socketPath = proxySocketPath
        let group = eventLoopGroup
        let logger = self.logger
        let loop = AcceptLoop(listener: listener) { client in
            await Self.forward(client, to: socketPath, group: group, logger: logger)
        }
        guard let port = loop.localAddress?.port else {
            await loop.stop()
            throw EgressProxyError.noBoundPort
        }
        running = (loop, port)
        return port
    }

    /// Stops accepting and closes every open connection. Does nothing when not running.
    public func stop() async {
        guard let running else { return }
        self.running = nil
        await running.loop.stop()
    }

    private static func forward(
        _ client: AcceptLoop.Connection, to socketPath: String, group: any EventLoopGroup, logger: Logger
    ) async {
        do {
            try await client.executeThenClose { inbound, outbound in
                let upstream = try await ClientBootstrap(group: group)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(unixDomainSocketPath: socketPath) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try AcceptLoop.Connection(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        }
                    }
                try await upstream.executeThenClose { upstreamInbound, upstreamOutbound in
                    var iterator = inbound.makeAsyncIterator()
                    _ = await ByteSplice.run(
                        client: &iterator, clientWriter: outbound, clientChannel: client.channel,
                        upstreamInbound: upstreamInbound, upstreamWriter: upstreamOutbound, upstreamChannel: upstream.channel
                    )
                }
            }
        } catch {
            logger.debug("loopback forwarding ended with an error", metadata: ["proxy_socket": "\(socketPath)", "error": "\(error)"])
        }
    }
}
