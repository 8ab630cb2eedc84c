import AsyncHTTPClient
import Foundation
import NIOCore
import ReverieCore
import ReverieExecution
import Testing

/// The egress proxy over real sockets, all on loopback: an origin on 127.0.0.2, the proxy on a Unix
/// socket, and a loopback forwarder on 127.0.0.1 in front of it, spoken to as a sandboxed tool would.
/// No test ever lets the proxy connect anywhere but 127.0.0.2.
@Suite(.timeLimit(.minutes(2))) struct EgressProxyTests {
    static let originOnly = ["127.0.0.2/32"]

    @Test func limitedModeTunnelsToAnAllowedHost() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let exchange = try await fixture.client.tunnel(
                to: fixture.authority(), payload: "GET /through-the-tunnel HTTP/1.1\r\nHost: \(fixture.authority())\r\n\r\n"
            )
            #expect(exchange.proxyReply == "HTTP/1.1 200 Connection Established\r\n\r\n")
            #expect(exchange.tunnelled.hasPrefix("HTTP/1.1 200 OK"))
            #expect(exchange.tunnelled.hasSuffix("GET /through-the-tunnel host=\(fixture.authority()) body=0"))
            #expect(fixture.resolver.lookups == ["origin.test"])
        }
    }

    @Test func aLargeBodyFlowsThroughTheTunnel() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let body = String(repeating: "0123456789abcdef", count: 64 * 1024)  // 1 MiB
            let exchange = try await fixture.client.tunnel(
                to: fixture.authority(),
                payload: "POST /upload HTTP/1.1\r\nHost: origin.test\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body
            )
            #expect(exchange.status == 200)
            #expect(exchange.tunnelled.hasSuffix("POST /upload host=origin.test body=\(body.utf8.count)"))
        }
    }

    @Test func aHostNotInAllowedHostsIsForbidden() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let exchange = try await fixture.client.tunnel(to: fixture.authority("example.test"), payload: "")
            #expect(exchange.status == 403)
            #expect(exchange.tunnelled.isEmpty)
            #expect(exchange.proxyReply.contains("host 'example.test' is not in allowed_hosts"))
            #expect(fixture.resolver.lookups.isEmpty)
            #expect(fixture.origin.receivedHeads.isEmpty)
        }
    }

    @Test func anAllowedHostResolvingToLoopbackIsForbidden() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["loop.test", "mixed.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let loop = try await fixture.client.tunnel(to: fixture.authority("loop.test"), payload: "")
            #expect(loop.status == 403)
            #expect(loop.proxyReply.contains("host 'loop.test' resolves to 127.0.0.1, a loopback address"))
            // One loopback address among admitted ones is enough to refuse (the client could be sent there).
            let mixed = try await fixture.client.tunnel(to: fixture.authority("mixed.test"), payload: "")
            #expect(mixed.status == 403)
            #expect(mixed.proxyReply.contains("resolves to 127.0.0.1, a loopback address"))
            // A loopback literal is refused too.
            let literal = try await fixture.client.tunnel(to: "127.0.0.1:\(fixture.origin.port)", payload: "")
            #expect(literal.status == 403)
            #expect(fixture.origin.receivedHeads.isEmpty)
        }
    }

    @Test func metadataAndPrivateLiteralsAreForbiddenWithoutConnecting() async throws {
        let policies = [
            EgressPolicy(mode: .unrestricted, allowedNetworks: Self.originOnly),
            EgressPolicy(mode: .limited(allowedHosts: ["169.254.169.254", "10.0.0.1", "metadata.test"]), allowedNetworks: Self.originOnly),
        ]
        for policy in policies {
            try await EgressProxyFixture.with(policy: policy) { fixture in
                let metadata = try await fixture.client.tunnel(to: "169.254.169.254:80", payload: "")
                #expect(metadata.status == 403)
                #expect(metadata.proxyReply.contains("169.254.169.254 is a link-local address"))
                let privateAddress = try await fixture.client.roundTrip("GET http://10.0.0.1/ HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n")
                #expect(privateAddress.hasPrefix("HTTP/1.1 403 Forbidden"))
                #expect(privateAddress.contains("10.0.0.1 is a private address"))
                let named = try await fixture.client.tunnel(to: "metadata.test:80", payload: "")
                #expect(named.status == 403)
                #expect(named.proxyReply.contains("resolves to 169.254.169.254, a link-local address"))
                // Literals never reach the resolver; nothing was forwarded anywhere.
                #expect(fixture.resolver.lookups == ["metadata.test"])
                let allowedLines = fixture.logs.all.filter { $0.metadata["decision"] == "allowed" }
                #expect(allowedLines.isEmpty)
            }
        }
    }

    @Test func unrestrictedModeStillRefusesPrivateAndLoopback() async throws {
        try await EgressProxyFixture.with(policy: EgressPolicy(mode: .unrestricted)) { fixture in
            for authority in [fixture.authority(), fixture.authority("loop.test"), "127.0.0.2:\(fixture.origin.port)", "[::1]:443"] {
                let exchange = try await fixture.client.tunnel(to: authority, payload: "")
                #expect(exchange.status == 403, "\(authority)")
            }
            let plain = try await fixture.client.roundTrip("GET http://\(fixture.authority())/ HTTP/1.1\r\n\r\n")
            #expect(plain.hasPrefix("HTTP/1.1 403 Forbidden"))
            #expect(plain.contains("resolves to 127.0.0.2, a loopback address"))
            #expect(fixture.origin.receivedHeads.isEmpty)
        }
        // With the origin's address admitted by the operator, unrestricted mode reaches any name for it.
        try await EgressProxyFixture.with(policy: EgressPolicy(mode: .unrestricted, allowedNetworks: Self.originOnly)) { fixture in
            let exchange = try await fixture.client.tunnel(to: fixture.authority("api.example.test"), payload: "GET / HTTP/1.1\r\n\r\n")
            #expect(exchange.status == 200)
            #expect(exchange.tunnelled.hasSuffix("GET / host=- body=0"))
        }
    }

    @Test func noneModeRefusesEverything() async throws {
        try await EgressProxyFixture.with(policy: EgressPolicy(mode: .none, allowedNetworks: Self.originOnly)) { fixture in
            let exchange = try await fixture.client.tunnel(to: fixture.authority(), payload: "")
            #expect(exchange.status == 403)
            #expect(exchange.proxyReply.contains("the environment allows no network access"))
            let plain = try await fixture.client.roundTrip("GET http://\(fixture.authority())/ HTTP/1.1\r\n\r\n")
            #expect(plain.hasPrefix("HTTP/1.1 403 Forbidden"))
            let literal = try await fixture.client.tunnel(to: "127.0.0.2:\(fixture.origin.port)", payload: "")
            #expect(literal.status == 403)
            #expect(fixture.resolver.lookups.isEmpty)
            #expect(fixture.origin.receivedHeads.isEmpty)
        }
    }

    @Test func plainHTTPIsForwardedInOriginForm() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let response = try await fixture.client.roundTrip(
                "GET http://\(fixture.authority())/path/x?q=1 HTTP/1.1\r\nHost: \(fixture.authority())\r\nProxy-Connection: keep-alive\r\n"
                    + "Proxy-Authorization: Basic eDp5\r\nAccept: text/plain\r\n\r\n"
            )
            #expect(response.hasPrefix("HTTP/1.1 200 OK"))
            #expect(response.hasSuffix("GET /path/x?q=1 host=\(fixture.authority()) body=0"))
            let head = try #require(fixture.origin.receivedHeads.first)
            #expect(head.hasPrefix("GET /path/x?q=1 HTTP/1.1\r\n"))
            #expect(head.contains("Connection: close"))
            #expect(head.contains("Accept: text/plain"))
            #expect(!head.lowercased().contains("proxy-"))
        }
    }

    @Test func aRealHTTPClientUsesTheProxy() async throws {
        // AsyncHTTPClient tunnels even plain http through CONNECT, as many clients do.
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            func client(connectTimeout: TimeAmount) -> HTTPClient {
                var configuration = HTTPClient.Configuration()
                configuration.proxy = .server(host: "127.0.0.1", port: fixture.client.port)
                configuration.timeout = .init(connect: connectTimeout)
                return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            }
            // Generous for the allowed request on a loaded machine; short for the refused one: a
            // refused CONNECT is a failed connection attempt, which the client retries until its
            // connect timeout runs out.
            let patient = client(connectTimeout: .seconds(30))
            let hasty = client(connectTimeout: .seconds(2))
            do {
                let allowed = try await patient.execute(HTTPClientRequest(url: "http://\(fixture.authority())/via-client"), timeout: .seconds(60))
                #expect(allowed.status == .ok)
                let body = try await allowed.body.collect(upTo: 1 << 16)
                #expect(String(buffer: body).hasPrefix("GET /via-client host="))
                await #expect(throws: (any Error).self) {
                    _ = try await hasty.execute(HTTPClientRequest(url: "http://example.test:\(fixture.origin.port)/"), timeout: .seconds(20))
                }
            } catch {
                try await patient.shutdown()
                try await hasty.shutdown()
                throw error
            }
            try await patient.shutdown()
            try await hasty.shutdown()
            #expect(fixture.origin.receivedHeads.count == 1)
        }
    }

    @Test func wildcardsMatchSubdomainsOnly() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["*.Example.TEST"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            for name in ["api.example.test", "deep.api.example.test", "API.Example.Test"] {
                let exchange = try await fixture.client.tunnel(to: fixture.authority(name), payload: "GET /w HTTP/1.1\r\n\r\n")
                #expect(exchange.status == 200, "\(name)")
                #expect(exchange.tunnelled.hasSuffix("GET /w host=- body=0"), "\(name)")
            }
            let apex = try await fixture.client.tunnel(to: fixture.authority("example.test"), payload: "")
            #expect(apex.status == 403)
            #expect(apex.proxyReply.contains("not in allowed_hosts"))
        }
    }

    @Test func malformedRequestsAreBadRequests() async throws {
        let policy = EgressPolicy(mode: .unrestricted, allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            let relative = try await fixture.client.roundTrip("GET /relative HTTP/1.1\r\nHost: origin.test\r\n\r\n")
            #expect(relative.hasPrefix("HTTP/1.1 400 Bad Request"))
            let noPort = try await fixture.client.roundTrip("CONNECT origin.test HTTP/1.1\r\n\r\n")
            #expect(noPort.hasPrefix("HTTP/1.1 400 Bad Request"))
            let huge = try await fixture.client.roundTrip("GET http://origin.test/ HTTP/1.1\r\nX: " + String(repeating: "a", count: 40_000) + "\r\n\r\n")
            #expect(huge.hasPrefix("HTTP/1.1 431 "))
            #expect(fixture.origin.receivedHeads.isEmpty)
        }
    }

    @Test func anUnreachableAllowedDestinationIsABadGateway() async throws {
        let policy = EgressPolicy(mode: .unrestricted, allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            // Nothing listens on the origin address's port 1.
            let exchange = try await fixture.client.tunnel(to: "origin.test:1", payload: "")
            #expect(exchange.status == 502)
        }
    }

    @Test func everyConnectionIsLogged() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            _ = try await fixture.client.tunnel(to: fixture.authority(), payload: "GET / HTTP/1.1\r\n\r\n")
            _ = try await fixture.client.tunnel(to: fixture.authority("example.test"), payload: "")
            _ = try await fixture.client.roundTrip("GET http://\(fixture.authority("loop.test"))/ HTTP/1.1\r\n\r\n")
            let decisions = fixture.logs.all.filter { $0.level == .info && $0.metadata["decision"] != nil }
            #expect(decisions.count == 3)
            for record in decisions {
                #expect(record.metadata["session_id"] == EgressProxyFixture.sessionID)
                #expect(record.metadata["port"] == "\(fixture.origin.port)")
                #expect(record.metadata["reason"]?.isEmpty == false)
            }
            #expect(decisions.map { $0.metadata["host"] ?? "" } == ["origin.test", "example.test", "loop.test"])
            #expect(decisions.map { $0.metadata["decision"] ?? "" } == ["allowed", "denied", "denied"])
            #expect(decisions[0].metadata["reason"] == "host in allowed_hosts; 127.0.0.2 admitted by allowed_networks")
            #expect(decisions[1].metadata["reason"] == "host 'example.test' is not in allowed_hosts")
        }
    }

    @Test func stoppingClosesTunnelsAndRemovesTheSocket() async throws {
        let policy = EgressPolicy(mode: .limited(allowedHosts: ["origin.test"]), allowedNetworks: Self.originOnly)
        try await EgressProxyFixture.with(policy: policy) { fixture in
            #expect(FileManager.default.fileExists(atPath: fixture.socketPath))
            let connection = try await fixture.client.connect()
            try await connection.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "CONNECT \(fixture.authority()) HTTP/1.1\r\n\r\n"))
                var iterator = inbound.makeAsyncIterator()
                var reply = ""
                while !reply.hasSuffix("\r\n\r\n"), let chunk = try await iterator.next() { reply += String(buffer: chunk) }
                #expect(reply.hasPrefix("HTTP/1.1 200"))
                // The tunnel is open and idle; stopping the proxy closes it.
                await fixture.proxy.stop()
                var rest = ""
                while let chunk = try await iterator.next() { rest += String(buffer: chunk) }
                #expect(rest.isEmpty)
            }
            #expect(!FileManager.default.fileExists(atPath: fixture.socketPath))
            #expect(await fixture.proxy.socketPath == nil)
        }
    }

    @Test func aStaleSocketFileIsReplaced() async throws {
        let path = EgressProxyFixture.temporarySocketPath()
        try Self.leaveStaleSocket(at: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let proxy = EgressProxy(sessionID: "sesn_stale", policy: EgressPolicy(mode: .none))
        try await proxy.start(socketPath: path)
        await #expect(throws: EgressProxyError.alreadyRunning) { try await proxy.start(socketPath: path) }
        let forwarder = LoopbackForwarder(proxySocketPath: path)
        let forwarderPort = try await forwarder.start()
        #expect(await forwarder.port == forwarderPort)
        let reply = try await RawProxyClient(port: forwarderPort).roundTrip("GET http://origin.test/ HTTP/1.1\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 403 Forbidden"))
        await forwarder.stop()
        await proxy.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// Binds a Unix socket at `path` and closes it without removing the file, as a crashed server would.
    static func leaveStaleSocket(at path: String) throws {
        struct BindFailed: Error {}
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        try withUnsafeMutableBytes(of: &address.sun_path) { raw in
            guard pathBytes.count < raw.count else { throw BindFailed() }
            raw.copyBytes(from: pathBytes)
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw BindFailed() }
    }
}
