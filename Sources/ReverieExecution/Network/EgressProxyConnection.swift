import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ReverieCore

/// Serves one client connection of an `EgressProxy`: reads the request head, applies the policy,
/// answers a refusal or connects to a checked address and splices.
struct EgressProxyConnection: Sendable {
    let sessionID: String
    let authorizer: EgressAuthorizer
    let connectTimeout: Duration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    /// The session's `environment_variable` credentials, substituted on their hosts.
    let credentials: EgressCredentialSet
    /// How HTTPS to a credential's host is opened up; nil leaves every CONNECT a splice.
    let interception: EgressInterception?

    typealias ByteChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>
    typealias Iterator = NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

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

                let substitution = CredentialSubstitution(credentials: await credentials.current(), host: request.host)
                if !substitution.isEmpty {
                    switch request.target {
                    case .tunnel:
                        if let interception {
                            try await intercept(
                                request, addresses: addresses, client: client, iterator: &iterator, outbound: outbound, leftover: leftover,
                                substitution: substitution, interception: interception)
                            return
                        }
                    // Without interception the tunnel is spliced below: the placeholder passes unchanged.
                    case .forward(let originForm):
                        let head = OriginRequestHead(
                            method: request.method, target: originForm,
                            headers: [("Host", request.hostHeader)] + request.headers.filter { $0.name.lowercased() != "host" })
                        try await rewrite(
                            head, request: request, addresses: addresses, tls: nil, iterator: &iterator, outbound: outbound, leftover: leftover,
                            substitution: substitution)
                        return
                    }
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

    /// Answers a CONNECT to a host a credential applies to: `200`, then TLS with the sandbox under
    /// a certificate for the host from the installation's CA (a client hello naming another host
    /// fails), then one request, rewritten and sent over TLS verified against the real host. A
    /// tunnel that carries plain HTTP instead is rewritten and sent in plain HTTP.
    private func intercept(
        _ request: ProxyRequest, addresses: [NetworkAddress], client: ByteChannel, iterator: inout Iterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, leftover: ByteBuffer, substitution: CredentialSubstitution,
        interception: EgressInterception
    ) async throws {
        let context: NIOSSLContext
        do {
            context = try interception.serverContext(for: request.host)
        } catch {
            logger.error("egress proxy could not make a certificate", metadata: metadata(host: request.host, port: request.port, decision: "allowed", reason: "\(error)"))
            try await outbound.write(ProxyReply.badGateway("the proxy could not make a certificate for \(request.host)"))
            return
        }
        let channel = client.channel
        let decided = channel.eventLoop.makePromise(of: Bool.self)
        // On the event loop, in order: the reply leaves in clear, then every byte that follows
        // passes the sniffer, which puts TLS in front of the request when the client starts TLS.
        try await channel.eventLoop.submit {
            channel.writeAndFlush(ProxyReply.connectionEstablished, promise: nil)
            do {
                try channel.pipeline.syncOperations.addHandler(TunnelProtocolSniffer(tlsContext: context, decided: decided), position: .first)
            } catch {
                decided.fail(error)
                throw error
            }
            if leftover.readableBytes > 0 { channel.pipeline.fireChannelRead(leftover) }
        }.get()

        let head: OriginRequestHead
        let rest: ByteBuffer
        let isTLS: Bool
        do {
            switch try await ProxyRequestHeadReader.read(from: &iterator) {
            case .endedEarly:
                return
            case .tooLarge:
                logRefusal(host: request.host, port: request.port, reason: "bad request: the request head is too large")
                try await outbound.write(ProxyReply.headTooLarge())
                return
            case .head(let text, let after):
                rest = after
                // A head has arrived, so the sniffer has seen the tunnel's first byte.
                isTLS = try await decided.futureResult.get()
                do throws(ProxyRequestError) {
                    head = try OriginRequestHead.parse(text)
                } catch {
                    logRefusal(host: request.host, port: request.port, reason: "bad request: \(error.description)")
                    try await outbound.write(ProxyReply.badRequest(error.description))
                    return
                }
            }
        } catch {
            logger.info(
                "egress TLS interception failed",
                metadata: metadata(host: request.host, port: request.port, decision: "denied", reason: "TLS with the sandbox failed: \(error)"))
            return
        }
        try await rewrite(
            head, request: request, addresses: addresses,
            tls: isTLS ? (interception.upstreamContext, NetworkAddress(request.host) == nil ? request.host : nil) : nil,
            iterator: &iterator, outbound: outbound, leftover: rest, substitution: substitution)
    }

    /// Reads the rest of one request, substitutes the credentials that apply, sends it to the
    /// checked addresses (over TLS when `tls` is given) and relays the answer, secrets masked.
    private func rewrite(
        _ head: OriginRequestHead, request: ProxyRequest, addresses: [NetworkAddress], tls: (context: NIOSSLContext, serverName: String?)?,
        iterator: inout Iterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, leftover: ByteBuffer, substitution: CredentialSubstitution
    ) async throws {
        let prepared: RewrittenExchange.Prepared
        do {
            prepared = try await RewrittenExchange.prepare(head, leftover: leftover, client: &iterator, clientWriter: outbound, substitution: substitution)
        } catch let refusal as RewrittenExchange.Refusal {
            logRefusal(host: request.host, port: request.port, reason: refusal.reason)
            try await outbound.write(refusal.reply)
            return
        }
        let upstream: ByteChannel
        do {
            upstream = try await connect(to: addresses, port: request.port, tls: tls)
        } catch {
            logger.info("egress connection failed", metadata: metadata(host: request.host, port: request.port, decision: "allowed", reason: error.description))
            try await outbound.write(error.timedOut ? ProxyReply.gatewayTimeout(error.description) : ProxyReply.badGateway(error.description))
            return
        }
        var details = metadata(host: request.host, port: request.port, decision: "allowed", reason: "credentials substituted")
        details["credentials"] = "\(substitution.credentials.map(\.name).joined(separator: ","))"
        details["tls"] = "\(tls != nil)"
        logger.info("egress request rewritten", metadata: details)
        do {
            try await RewrittenExchange.send(
                prepared, upstream: upstream, clientWriter: outbound, redactor: SecretRedactor(secrets: substitution.sessionSecrets))
        } catch let failure as RewrittenExchange.UpstreamFailure {
            logger.info("egress connection failed", metadata: metadata(host: request.host, port: request.port, decision: "allowed", reason: failure.description))
            try await outbound.write(ProxyReply.badGateway(failure.description))
        }
    }

    /// Connects to the first of `addresses` that answers within the connect timeout; every address
    /// has been checked, and nothing is resolved again here. With `tls`, the connection is TLS,
    /// verifying the destination as `serverName` (or its address) against the trusted roots.
    private func connect(
        to addresses: [NetworkAddress], port: Int, tls: (context: NIOSSLContext, serverName: String?)? = nil
    ) async throws(EgressConnectFailure) -> ByteChannel {
        var lastFailure = EgressConnectFailure(description: "no address to connect to", timedOut: false)
        for address in addresses {
            do {
                let socketAddress = try SocketAddress(ipAddress: address.description, port: port)
                return try await ClientBootstrap(group: eventLoopGroup)
                    .connectTimeout(TimeAmount(connectTimeout))
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(to: socketAddress) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tls {
                                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
                            }
                            return try ByteChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: tls == nil))
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
