import Logging
import NIOCore
import NIOPosix
import ReverieCore

/// Serves one client connection of an `EgressProxy`: reads the request head, applies the policy,
/// answers a refusal or connects to a checked address and splices.
struct EgressProxyConnection: Sendable {
    let sessionID: String
    let authorizer: EgressAuthorizer
    let connectTimeout: Duration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    typealias ByteChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    func serve(_ client: ByteChannel) async {
        do {
            try await client.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                let request: ProxyRequest
                var leftover: ByteBuffer
                switch try await ProxyRequestHeadReader.read(from: &iterator) {
                case .endedEarly:
                    logger.debug("egress connection closed before a request", metadata: ["session_id": "\(sessionID)"])
                    return
                case .tooLarge:
                    logRefusal(host: nil, port: nil, reason: "bad request: the request head is too large")
                    try await outbound.write(ProxyReply.headTooLarge())
                    return
                case .head(let head, let rest):
                    leftover = rest
                    do throws(ProxyRequestError) {
                        request = try ProxyRequest.parse(head: head)
                    } catch {
                        logRefusal(host: nil, port: nil, reason: "bad request: \(error.description)")
                        try await outbound.write(ProxyReply.badRequest(error.description))
                        return
                    }
                }

                let addresses: [NetworkAddress]
                switch await authorizer.authorize(host: request.host) {
                case .denied(let denial):
                    logRefusal(host: request.host, port: request.port, reason: denial.description)
                    try await outbound.write(ProxyReply.forbidden(denial.description))
                    return
                case .allowed(let checked):
                    addresses = checked
                    logger.info(
                        "egress connection allowed",
                        metadata: metadata(host: request.host, port: request.port, decision: "allowed", reason: allowance(for: checked))
                    )
                }

                let upstream: ByteChannel
                do {
                    upstream = try await connect(to: addresses, port: request.port)
                } catch let failure as EgressConnectFailure {
                    logger.info(
                        "egress connection failed",
                        metadata: metadata(host: request.host, port: request.port, decision: "allowed", reason: failure.description)
                    )
                    try await outbound.write(failure.timedOut ? ProxyReply.gatewayTimeout(failure.description) : ProxyReply.badGateway(failure.description))
                    return
                }

                try await upstream.executeThenClose { upstreamInbound, upstreamOutbound in
                    switch request.target {
                    case .tunnel:
                        try await outbound.write(ProxyReply.connectionEstablished)
                    case .forward:
                        try await upstreamOutbound.write(ByteBuffer(string: request.originHead()))
                    }
                    if leftover.readableBytes > 0 {
                        try await upstreamOutbound.write(leftover)
                    }
                    let counts = await ByteSplice.run(
                        client: &iterator, clientWriter: outbound, clientChannel: client.channel,
                        upstreamInbound: upstreamInbound, upstreamWriter: upstreamOutbound, upstreamChannel: upstream.channel
                    )
                    logger.debug(
                        "egress connection closed",
                        metadata: [
                            "session_id": "\(sessionID)", "host": "\(request.host)", "port": "\(request.port)",
                            "bytes_out": "\(counts.clientToUpstream)", "bytes_in": "\(counts.upstreamToClient)",
                        ]
                    )
                }
            }
        } catch {
            logger.debug("egress connection ended with an error", metadata: ["session_id": "\(sessionID)", "error": "\(error)"])
        }
    }

    /// Connects to the first of `addresses` that answers within the connect timeout; every address
    /// has been checked, and nothing is resolved again here.
    private func connect(to addresses: [NetworkAddress], port: Int) async throws(EgressConnectFailure) -> ByteChannel {
        var lastFailure = EgressConnectFailure(description: "no address to connect to", timedOut: false)
        for address in addresses {
            do {
                let socketAddress = try SocketAddress(ipAddress: address.description, port: port)
                return try await ClientBootstrap(group: eventLoopGroup)
                    .connectTimeout(TimeAmount(connectTimeout))
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(to: socketAddress) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try ByteChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        }
                    }
            } catch ChannelError.connectTimeout(_) {
                lastFailure = EgressConnectFailure(description: "connecting to \(address.urlHost):\(port) timed out", timedOut: true)
            } catch {
                lastFailure = EgressConnectFailure(description: "connecting to \(address.urlHost):\(port) failed: \(error)", timedOut: false)
            }
        }
        throw lastFailure
    }

    /// Why an allowed destination is allowed, for the log.
    private func allowance(for addresses: [NetworkAddress]) -> String {
        let hostRule: String
        switch authorizer.policy.mode {
        case .none: hostRule = "no network access"  // never reached: `.none` refuses every host
        case .unrestricted: hostRule = "unrestricted"
        case .limited: hostRule = "host in allowed_hosts"
        }
        let shown = addresses.map(\.description).joined(separator: ",")
        if addresses.contains(where: { $0.scope != .public }) {
            return "\(hostRule); \(shown) admitted by allowed_networks"
        }
        return "\(hostRule); \(shown) public"
    }

    private func logRefusal(host: String?, port: Int?, reason: String) {
        logger.info("egress connection denied", metadata: metadata(host: host, port: port, decision: "denied", reason: reason))
    }

    private func metadata(host: String?, port: Int?, decision: String, reason: String) -> Logger.Metadata {
        [
            "session_id": "\(sessionID)", "host": "\(host ?? "-")", "port": "\(port.map(String.init) ?? "-")",
            "decision": "\(decision)", "reason": "\(reason)",
        ]
    }
}
