import Foundation
import Logging
import NIOCore
import NIOPosix

/// One session's egress proxy: an HTTP/1.1 proxy on a Unix domain socket (bound into the session's
/// sandbox) that lets sandboxed tools reach what the session's `EgressPolicy` allows and nothing else.
///
/// It serves `CONNECT host:port` (answered `200 Connection Established`, then bytes are spliced both
/// ways) and absolute-form `http://` requests (forwarded with an origin-form target and
/// `Connection: close`, one request per connection). A refused destination is answered
/// `403 Forbidden` with a one-line reason; a malformed request `400 Bad Request`; an allowed
/// destination that cannot be reached `502 Bad Gateway` (`504 Gateway Timeout` after the connect
/// timeout). Every connection is logged at info with `session_id`, `host`, `port`, `decision` and `reason`.
///
/// For a host one of the session's `credentials` applies to, requests are rewritten instead:
/// `http://` ones directly, CONNECT ones by terminating TLS with a certificate from the
/// installation's CA (`interception`) and opening TLS to the real host; see `RewrittenExchange`.
///
/// Starting is cheap (one `bind` on a shared event loop group), so each session can have its own.
public actor EgressProxy {
    /// The session whose traffic this proxy carries (logged with every connection).
    public nonisolated let sessionID: String
    /// What the session may reach.
    public nonisolated let policy: EgressPolicy
    private let connection: EgressProxyConnection
    private let eventLoopGroup: any EventLoopGroup
    private var running: (loop: AcceptLoop, socketPath: String)?
    private var isStarting = false

    /// A proxy for one session.
    /// - Parameters:
    ///   - sessionID: The session, for the log.
    ///   - policy: What the session may reach.
    ///   - resolver: Resolves destination host names once per connection; tests inject a fake.
    ///   - connectTimeout: How long connecting to one destination address may take.
    ///   - maxOpenConnections: Connections open at once; more are closed as they arrive.
    ///   - credentials: The session's `environment_variable` credentials: requests to their hosts
    ///     are read and their placeholders replaced (see `EgressCredential`).
    ///   - refreshCredentials: Gives the session's credentials now, so that a rotated or revoked
    ///     one takes effect while the proxy runs (`EgressCredentialSet`); nil: they never change.
    ///   - interception: Opens up HTTPS to those hosts; without it their CONNECTs stay spliced.
    ///   - eventLoopGroup: Where sockets run; the shared singleton by default.
    ///   - logger: Receives one info line per connection.
    public init(
        sessionID: String,
        policy: EgressPolicy,
        resolver: any HostResolver = SystemHostResolver(),
        connectTimeout: Duration = .seconds(10),
        maxOpenConnections: Int = EgressProxy.maxOpenConnections,
        credentials: [EgressCredential] = [],
        refreshCredentials: (@Sendable () async throws -> [EgressCredential])? = nil,
        credentialRefreshInterval: Duration = .seconds(5),
        interception: EgressInterception? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "reverie.egress-proxy")
    ) {
        self.maxOpen = maxOpenConnections
        self.sessionID = sessionID
        self.policy = policy
        self.eventLoopGroup = eventLoopGroup
        self.connection = EgressProxyConnection(
            sessionID: sessionID, authorizer: EgressAuthorizer(policy: policy, resolver: resolver),
            connectTimeout: connectTimeout, eventLoopGroup: eventLoopGroup, logger: logger,
            credentials: EgressCredentialSet(credentials, source: refreshCredentials, refreshInterval: credentialRefreshInterval), interception: interception
        )
    }

    private let maxOpen: Int

    /// How long a connection may pass no bytes either way before it is closed.
    public static let idleTimeout = TimeAmount.minutes(5)
    /// Connections one session may hold open at once by default; more are closed as they
    /// arrive (a sandbox must not tie up the server's sockets).
    public static let maxOpenConnections = 256

    /// The socket path while running, else nil.
    public var socketPath: String? { running?.socketPath }

    /// Starts listening on a Unix domain socket at `socketPath` (at most about 100 bytes long),
    /// replacing a stale socket file left there. Throws when already running or binding fails.
    public func start(socketPath: String) async throws {
        guard running == nil, !isStarting else { throw EgressProxyError.alreadyRunning }
        isStarting = true
        defer { isStarting = false }
        let connection = self.connection
        let listener = try await ServerBootstrap(group: eventLoopGroup)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // A connection that sends nothing (no request head, or an idle tunnel) is closed.
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                    try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
                    return try AcceptLoop.Connection(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                }
            }
        running = (AcceptLoop(listener: listener, maxOpen: maxOpen) { client in await connection.serve(client) }, socketPath)
    }

    /// Stops accepting, closes every open tunnel and forwarded request, and removes the socket file.
    /// Does nothing when not running.
    public func stop() async {
        guard let running else { return }
        self.running = nil
        await running.loop.stop()
        try? FileManager.default.removeItem(atPath: running.socketPath)
    }
}

/// Closes its channel when `IdleStateHandler` says nothing has passed for its timeout.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
