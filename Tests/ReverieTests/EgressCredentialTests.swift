import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import ReverieExecution

/// `environment_variable` credentials at the egress proxy, over real sockets on loopback with the
/// host's `curl` as the client: the real secret reaches only the credential's hosts, in the parts
/// of the request its injection names; everything else sees the placeholder.
@Suite(.timeLimit(.minutes(2))) struct EgressCredentialTests {
    static let secret = "sk-live-5ecret-Value-0123456789"
    static let placeholder = "reverie_placeholder_00112233445566778899aabbccddeeff"

    static func credential(hosts: EgressCredential.Hosts = .limited(["api.vault.test"]), header: Bool = true, body: Bool = true) -> EgressCredential {
        EgressCredential(name: "API_TOKEN", secret: secret, hosts: hosts, injection: .init(header: header, body: body), placeholder: placeholder)
    }

    @Test func httpsToACredentialsHostCarriesTheSecretInHeaderAndBody() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()]) { fixture in
            let output = try await fixture.curl([
                "-H", "Authorization: Bearer \(Self.placeholder)", "-H", "X-Other: keep-\(Self.placeholder)",
                "--data", "token=\(Self.placeholder)&n=1", fixture.url("api.vault.test", "/v1/call?q=\(Self.placeholder)"),
            ])
            #expect(output.contains("status=200"), "\(output)")
            let request = try #require(fixture.origin.received.first)
            #expect(request.head.hasPrefix("POST /v1/call?q=\(Self.placeholder) HTTP/1.1\r\n"), "the URL is never rewritten")
            #expect(request.head.contains("Authorization: Bearer \(Self.secret)\r\n"))
            #expect(request.head.contains("X-Other: keep-\(Self.secret)\r\n"))
            #expect(request.head.contains("Content-Length: \("token=\(Self.secret)&n=1".utf8.count)\r\n"))
            #expect(request.body == "token=\(Self.secret)&n=1")
            // The origin reflected the secret back; the client sees it masked.
            #expect(output.contains("REFLECTED"))
            #expect(!output.contains(Self.secret), "\(output)")
            #expect(output.contains("Authorization: Bearer \(String(repeating: "*", count: Self.secret.utf8.count))"))
            let rewritten = fixture.logs.all.filter { $0.message == "egress request rewritten" }
            #expect(rewritten.first?.metadata["credentials"] == "API_TOKEN")
            #expect(rewritten.first?.metadata["tls"] == "true")
            #expect(!fixture.logs.all.contains { "\($0.message) \($0.metadata)".contains(Self.secret) }, "the secret is never logged")
        }
    }

    @Test func aHostNotOnTheCredentialsListGetsThePlaceholderThroughAPlainSplice() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()]) { fixture in
            let output = try await fixture.curl([
                "-H", "Authorization: Bearer \(Self.placeholder)", "--data", "token=\(Self.placeholder)", fixture.url("other.vault.test", "/x"),
            ])
            #expect(output.contains("status=200"), "\(output)")
            let request = try #require(fixture.origin.received.first)
            #expect(request.head.contains("Authorization: Bearer \(Self.placeholder)"))
            #expect(request.body == "token=\(Self.placeholder)")
            // Spliced, not intercepted: the client spoke TLS with the origin's own certificate.
            #expect(!fixture.logs.all.contains { $0.message == "egress request rewritten" })
        }
    }

    @Test func wildcardAndUnrestrictedHostsFollowTheAllowedHostsRules() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential(hosts: .limited(["*.api.vault.test"]))]) { fixture in
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("deep.api.vault.test")])
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("api.vault.test")])
            let heads = fixture.origin.received.map(\.head)
            #expect(heads.count == 2)
            #expect(heads.first?.contains("X-Key: \(Self.secret)") == true, "a subdomain matches")
            #expect(heads.last?.contains("X-Key: \(Self.placeholder)") == true, "the apex does not")
        }
        try await CredentialProxyFixture.with(credentials: [Self.credential(hosts: .unrestricted)]) { fixture in
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("other.vault.test")])
            #expect(fixture.origin.received.first?.head.contains("X-Key: \(Self.secret)") == true)
        }
    }

    @Test func injectionLocationsAreRespected() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential(header: true, body: false)]) { fixture in
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", "--data", Self.placeholder, fixture.url("api.vault.test")])
            let request = try #require(fixture.origin.received.first)
            #expect(request.head.contains("X-Key: \(Self.secret)"))
            #expect(request.body == Self.placeholder)
        }
        try await CredentialProxyFixture.with(credentials: [Self.credential(header: false, body: true)]) { fixture in
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", "--data", Self.placeholder, fixture.url("api.vault.test")])
            let request = try #require(fixture.origin.received.first)
            #expect(request.head.contains("X-Key: \(Self.placeholder)"))
            #expect(request.body == Self.secret)
        }
    }

    @Test func basicAuthenticationAndChunkedBodiesAreSubstituted() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()]) { fixture in
            let output = try await fixture.curl([
                "-u", "user:\(Self.placeholder)", "-H", "Transfer-Encoding: chunked", "--data-binary", "a=\(Self.placeholder)",
                fixture.url("api.vault.test", "/basic"),
            ])
            #expect(output.contains("status=200"), "\(output)")
            let request = try #require(fixture.origin.received.first)
            let basic = Data("user:\(Self.secret)".utf8).base64EncodedString()
            #expect(request.head.contains("Authorization: Basic \(basic)"))
            #expect(!request.head.lowercased().contains("transfer-encoding"), "the body is sent whole, with its length")
            #expect(request.body == "a=\(Self.secret)")
        }
    }

    @Test func largeBodiesWaitForContinueAndTooLargeOnesAreRefused() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()]) { fixture in
            let large = fixture.folder.appendingPathComponent("large.txt")
            let filler = String(repeating: "0123456789abcdef", count: 128 * 1024)  // 2 MiB
            try (filler + Self.placeholder).write(to: large, atomically: true, encoding: .utf8)
            let output = try await fixture.curl([
                "-v", "-H", "Expect: 100-continue", "--expect100-timeout", "30", "--data-binary", "@\(large.path)", "-o", "/dev/null",
                fixture.url("api.vault.test", "/large"),
            ])
            #expect(output.contains("status=200"), "\(output)")
            #expect(output.contains("< HTTP/1.1 100 Continue"), "the proxy answers 100 Continue itself: \(output)")
            let request = try #require(fixture.origin.received.first)
            #expect(request.body == filler + Self.secret)
            #expect(!request.head.lowercased().contains("expect:"))

            let tooLarge = fixture.folder.appendingPathComponent("too-large.bin")
            try Data(count: RewrittenExchange.maximumBodyBytes + 1).write(to: tooLarge)
            let refused = try await fixture.curl(["--data-binary", "@\(tooLarge.path)", "-o", "/dev/null", fixture.url("api.vault.test", "/huge")])
            #expect(refused.contains("status=413"), "\(refused)")
            #expect(fixture.origin.received.count == 1)
        }
    }

    /// A running proxy follows its session's credentials: a rotated secret is used, a revoked
    /// credential is no longer substituted, one the sandbox was not started with never is, and
    /// a source that cannot be read substitutes nothing.
    @Test func rotatedAndRevokedCredentialsTakeEffectWhileTheProxyRuns() async throws {
        let current = Mutex<[EgressCredential]?>([Self.credential()])
        let refresh: @Sendable () async throws -> [EgressCredential] = {
            guard let credentials = current.withLock({ $0 }) else { throw TestFailure("the vault cannot be read") }
            return credentials
        }
        try await CredentialProxyFixture.with(credentials: [Self.credential()], refresh: refresh, tls: false) { fixture in
            func sent() async throws -> String {
                _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("api.vault.test", "/r", scheme: "http")])
                let head = try #require(fixture.origin.received.last).head
                return head.components(separatedBy: "\r\n").first { $0.hasPrefix("X-Key: ") } ?? ""
            }
            let first = try await sent()
            #expect(first == "X-Key: \(Self.secret)")
            // Rotated (a fresh placeholder from the source is ignored: the sandbox has the old one).
            current.withLock { $0 = [EgressCredential(name: "API_TOKEN", secret: "rotated-secret-value", hosts: .limited(["api.vault.test"]), injection: .init(header: true, body: true))] }
            let rotated = try await sent()
            #expect(rotated == "X-Key: rotated-secret-value")
            // Unreadable: fail closed.
            current.withLock { $0 = nil }
            let unreadable = try await sent()
            #expect(unreadable == "X-Key: \(Self.placeholder)")
            // Revoked, and another credential that the sandbox has no placeholder for.
            current.withLock { $0 = [EgressCredential(name: "OTHER", secret: "other-secret", hosts: .unrestricted, injection: .init(header: true, body: true), placeholder: Self.placeholder)] }
            let revoked = try await sent()
            #expect(revoked == "X-Key: \(Self.placeholder)")
        }
    }

    @Test func plainHTTPIsSubstitutedToo() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()], tls: false) { fixture in
            let output = try await fixture.curl([
                "-H", "Authorization: Bearer \(Self.placeholder)", "--data", "t=\(Self.placeholder)", fixture.url("api.vault.test", "/plain", scheme: "http"),
            ])
            #expect(output.contains("status=200"), "\(output)")
            let request = try #require(fixture.origin.received.first)
            #expect(request.head.hasPrefix("POST /plain HTTP/1.1\r\n"))
            #expect(request.head.contains("Authorization: Bearer \(Self.secret)"))
            #expect(request.head.contains("Connection: close"))
            #expect(request.body == "t=\(Self.secret)")
            #expect(!output.contains(Self.secret))
            _ = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("other.vault.test", "/plain", scheme: "http")])
            #expect(fixture.origin.received.last?.head.contains("X-Key: \(Self.placeholder)") == true)
        }
    }

    @Test func plainHTTPInsideACONNECTTunnelIsSubstitutedToo() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()], tls: false) { fixture in
            // `-p`: curl tunnels even http:// through CONNECT, as some clients always do.
            let output = try await fixture.curl(["-p", "-H", "X-Key: \(Self.placeholder)", fixture.url("api.vault.test", "/tunnelled", scheme: "http")])
            #expect(output.contains("status=200"), "\(output)")
            #expect(fixture.origin.received.first?.head.contains("X-Key: \(Self.secret)") == true)
            #expect(fixture.logs.all.first { $0.message == "egress request rewritten" }?.metadata["tls"] == "false")
        }
    }

    @Test func aHostDeniedByThePolicyIsRefusedEvenWithACredential() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential(hosts: .limited(["api.vault.test", "denied.vault.test"]))]) { fixture in
            let output = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("denied.vault.test")])
            #expect(output.contains("403"), "\(output)")
            #expect(!output.contains("exit=0"))
            let plain = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("denied.vault.test", scheme: "http")])
            #expect(plain.contains("status=403"), "\(plain)")
            #expect(fixture.origin.received.isEmpty)
        }
    }

    @Test func anUntrustedDestinationIsABadGatewayAndGetsNothing() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()], trustOrigin: false) { fixture in
            let output = try await fixture.curl(["-H", "X-Key: \(Self.placeholder)", fixture.url("api.vault.test")])
            #expect(output.contains("status=502"), "\(output)")
            #expect(fixture.origin.received.isEmpty)
        }
    }

    @Test func aClientHelloNamingAnotherHostIsRefused() async throws {
        try await CredentialProxyFixture.with(credentials: [Self.credential()]) { fixture in
            // CONNECT to api.vault.test, then TLS naming other.vault.test: the handshake fails.
            let mismatched = try await Self.tunnelledTLS(fixture: fixture, connect: "api.vault.test", serverName: "other.vault.test")
            #expect(mismatched == nil)
            let matching = try await Self.tunnelledTLS(fixture: fixture, connect: "api.vault.test", serverName: "api.vault.test")
            #expect(matching?.hasPrefix("HTTP/1.1 200 OK") == true, "\(matching ?? "nil")")
            #expect(fixture.origin.received.count == 1)
            #expect(fixture.logs.all.contains { $0.message == "egress TLS interception failed" })
        }
    }

    /// Sends CONNECT, then speaks TLS naming `serverName` and sends one GET; the response, or nil
    /// when the handshake failed.
    static func tunnelledTLS(fixture: CredentialProxyFixture, connect host: String, serverName: String) async throws -> String? {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(fixture.interception.authority.certificatePEM.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: configuration)
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: fixture.proxyPort) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "CONNECT \(host):\(fixture.origin.port) HTTP/1.1\r\n\r\n"))
            var iterator = inbound.makeAsyncIterator()
            var reply = ""
            while !reply.hasSuffix("\r\n\r\n"), let chunk = try await iterator.next() { reply += String(buffer: chunk) }
            guard reply.hasPrefix("HTTP/1.1 200") else { return "proxy: \(reply)" }
            let channel = connection.channel
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
            }.get()
            do {
                try await outbound.write(ByteBuffer(string: "GET /sni HTTP/1.1\r\nHost: \(host)\r\n\r\n"))
                var response = ""
                while let chunk = try await iterator.next() { response += String(buffer: chunk) }
                return response.isEmpty ? nil : response
            } catch {
                return nil
            }
        }
    }

    @Test func theAuthorityIsKeptAndItsKeyIsPrivate() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rv-ca-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try EgressCertificateAuthority.loadOrCreate(directory: folder)
        let again = try EgressCertificateAuthority.loadOrCreate(directory: folder)
        #expect(first.certificatePEM == again.certificatePEM, "made once, then read")
        let key = try FileManager.default.attributesOfItem(atPath: folder + "/" + EgressCertificateAuthority.keyFile)
        #expect((key[.posixPermissions] as? Int) == 0o600)
        let bundle = try String(contentsOfFile: first.sandboxBundlePath, encoding: .utf8)
        #expect(bundle.hasSuffix(first.certificatePEM))
        #expect(!bundle.contains("PRIVATE KEY"))
        #expect(!first.certificatePEM.contains("PRIVATE KEY"))
        // A leaf for a name is made once and reused.
        let leaf = try first.serverIdentity(for: "api.vault.test")
        #expect(try first.serverIdentity(for: "api.vault.test").chain == leaf.chain)
        #expect(leaf.chain.count == 2)
    }

    @Test func substitutionAndMaskingWorkOnBytes() {
        let credential = Self.credential()
        let substitution = CredentialSubstitution(credentials: [credential], host: "api.vault.test")
        #expect(substitution.header(name: "X", value: "a \(Self.placeholder) b \(Self.placeholder)") == "a \(Self.secret) b \(Self.secret)")
        #expect(CredentialSubstitution(credentials: [credential], host: "other.vault.test").isEmpty)
        // A secret that would break a header's framing stays out of headers.
        let unsafe = EgressCredential(name: "T", secret: "a\r\nX-Injected: 1", hosts: .unrestricted, injection: .init(header: true, body: true), placeholder: "ph")
        #expect(CredentialSubstitution(credentials: [unsafe], host: "h").header(name: "X", value: "ph") == "ph")
        // A secret split across chunks is still masked; lengths are kept.
        var redactor = SecretRedactor(secrets: [Self.secret])
        let text = "xx" + Self.secret + "yy"
        let cut = text.index(text.startIndex, offsetBy: 9)
        var out = String(buffer: redactor.next(ByteBuffer(string: String(text[..<cut]))))
        out += String(buffer: redactor.next(ByteBuffer(string: String(text[cut...]))))
        out += String(buffer: redactor.finish())
        #expect(out == "xx" + String(repeating: "*", count: Self.secret.utf8.count) + "yy")
    }
}
