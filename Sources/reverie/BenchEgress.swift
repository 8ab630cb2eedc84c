import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ReverieCore
import ReverieExecution

/// `reverie bench egress`: what substituting a credential costs an HTTPS request — one request
/// per connection through a session's egress proxy (via its loopback forwarder, as a sandboxed
/// tool reaches it) to a TLS origin on 127.0.0.2, alternately to a host a credential applies to
/// (TLS terminated, rewritten, TLS again) and to one it does not (spliced).
struct BenchEgress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress", abstract: "HTTPS through the egress proxy: an intercepted request (credential substituted) vs a spliced one.")

    @Option(help: "Requests timed to each of the two hosts.")
    var requests = 200

    static let intercepted = "intercepted.bench.test"
    static let spliced = "spliced.bench.test"

    func run() async throws {
        guard requests >= 10 else { throw ValidationError("--requests must be at least 10") }
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reverie-bench-egress-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let originCA = try EgressCertificateAuthority.loadOrCreate(directory: root.appendingPathComponent("origin-ca").path)
        let proxyCA = try EgressCertificateAuthority.loadOrCreate(directory: root.appendingPathComponent("egress-ca").path)
        let origin = try await BenchTLSOrigin.start(authority: originCA)
        let credential = EgressCredential(
            name: "BENCH_TOKEN", secret: "bench-secret-value", hosts: .limited([Self.intercepted]), injection: .init(header: true, body: true))
        let proxy = EgressProxy(
            sessionID: "bench", policy: EgressPolicy(mode: .limited(allowedHosts: [Self.intercepted, Self.spliced]), allowedNetworks: ["127.0.0.2/32"]),
            resolver: BenchResolver(), credentials: [credential],
            interception: try EgressInterception(authority: proxyCA, extraTrustRootsPEM: [originCA.certificatePEM]), logger: logger)
        let socket = "/tmp/rvb-\(UUID().uuidString.prefix(8)).sock"
        try await proxy.start(socketPath: socket)
        let forwarder = LoopbackForwarder(proxySocketPath: socket)
        let port = try await forwarder.start()
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array((proxyCA.certificatePEM + originCA.certificatePEM).utf8)))
        let context = try NIOSSLContext(configuration: client)
        print("reverie bench egress: \(requests) HTTPS requests to each host, one per connection, through the proxy's loopback forwarder")

        var times: [String: [Double]] = [Self.intercepted: [], Self.spliced: []]
        for round in -5..<requests {
            for host in [Self.intercepted, Self.spliced] {
                let started = ContinuousClock.now
                let response = try await Self.request(host: host, originPort: origin.port, proxyPort: port, context: context, placeholder: credential.placeholder)
                guard response.hasPrefix("HTTP/1.1 200") else { throw ValidationError("a request to \(host) failed: \(response.prefix(200))") }
                if round >= 0 { times[host, default: []].append((ContinuousClock.now - started).milliseconds) }
            }
        }
        await forwarder.stop()
        await proxy.stop()
        await origin.stop()
        let intercepted = (times[Self.intercepted] ?? []).sorted()
        let spliced = (times[Self.spliced] ?? []).sorted()
        print("spliced (no credential):        p50 \(formatted(percentile(spliced, 50), 2)) ms, p99 \(formatted(percentile(spliced, 99), 2)) ms")
        print("intercepted (credential):       p50 \(formatted(percentile(intercepted, 50), 2)) ms, p99 \(formatted(percentile(intercepted, 99), 2)) ms")
        print("added by interception:          p50 \(formatted(percentile(intercepted, 50) - percentile(spliced, 50), 2)) ms")
    }

    /// One request: CONNECT, TLS (naming `host`), a GET carrying the placeholder, read to the end.
    static func request(host: String, originPort: Int, proxyPort: Int, context: NIOSSLContext, placeholder: String) async throws -> String {
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: proxyPort) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "CONNECT \(host):\(originPort) HTTP/1.1\r\n\r\n"))
            var iterator = inbound.makeAsyncIterator()
            var reply = ""
            while !reply.hasSuffix("\r\n\r\n"), let chunk = try await iterator.next() { reply += String(buffer: chunk) }
            guard reply.hasPrefix("HTTP/1.1 200") else { return reply }
            let channel = connection.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: host), position: .first)
            }.get()
            try await outbound.write(ByteBuffer(string: "GET /bench HTTP/1.1\r\nHost: \(host)\r\nAuthorization: Bearer \(placeholder)\r\n\r\n"))
            var response = ""
            do {
                while let chunk = try await iterator.next() { response += String(buffer: chunk) }
            } catch NIOSSLError.uncleanShutdown {
                // The origin closed without close_notify after a complete response.
            }
            return response
        }
    }
}

/// Both bench names are 127.0.0.2.
private struct BenchResolver: HostResolver {
    func addresses(of host: String) async -> [NetworkAddress] {
        [BenchEgress.intercepted, BenchEgress.spliced].contains(host) ? [NetworkAddress("127.0.0.2")].compactMap { $0 } : []
    }
}

/// A TLS origin on 127.0.0.2 answering every request `200 ok` and closing, with a certificate
/// for whatever name the client asks for.
private struct BenchTLSOrigin {
    let port: Int
    let listener: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    let serving: Task<Void, Never>

    static func start(authority: EgressCertificateAuthority) async throws -> BenchTLSOrigin {
        let first = try authority.serverIdentity(for: BenchEgress.spliced)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.key))
        configuration.sslContextCallback = { values, promise in
            do {
                let identity = try authority.serverIdentity(for: values.serverHostname ?? BenchEgress.spliced)
                var override = NIOSSLContextConfigurationOverride()
                override.certificateChain = identity.chain.map { .certificate($0) }
                override.privateKey = .privateKey(identity.key)
                promise.succeed(override)
            } catch {
                promise.fail(error)
            }
        }
        let context = try NIOSSLContext(configuration: configuration)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.2", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let serving = Task<Void, Never> {
            _ = try? await listener.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            group.addTask {
                                try? await connection.executeThenClose { requests, responses in
                                    var head = ""
                                    for try await chunk in requests {
                                        head += String(buffer: chunk)
                                        if head.contains("\r\n\r\n") { break }
                                    }
                                    try await responses.write(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
                                }
                            }
                        }
                    } catch {}
                }
            }
        }
        return BenchTLSOrigin(port: listener.channel.localAddress?.port ?? 0, listener: listener, serving: serving)
    }

    func stop() async {
        listener.channel.close(promise: nil)
        await serving.value
    }
}
