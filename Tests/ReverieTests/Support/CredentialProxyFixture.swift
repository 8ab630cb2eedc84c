import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL

@testable import ReverieExecution

/// An egress proxy with `environment_variable` credentials and TLS interception (a CA of its own
/// in a temporary folder), a loopback forwarder in front of it, and a reflecting origin on
/// 127.0.0.2 behind it under the names `api.vault.test`, `other.vault.test` and `denied.vault.test`.
struct CredentialProxyFixture: Sendable {
    let proxy: EgressProxy
    let forwarder: LoopbackForwarder
    let origin: ReflectingOrigin
    let interception: EgressInterception
    let folder: URL
    let logs: CapturingLogHandler.Store
    let proxyPort: Int

    static let names: [String: [String]] = [
        "api.vault.test": ["127.0.0.2"], "other.vault.test": ["127.0.0.2"], "denied.vault.test": ["127.0.0.2"], "deep.api.vault.test": ["127.0.0.2"],
    ]
    static let policy = EgressPolicy(
        mode: .limited(allowedHosts: ["api.vault.test", "other.vault.test", "*.api.vault.test"]), allowedNetworks: ["127.0.0.2/32"])

    /// A file trusting both the proxy's CA and the origin's (what a sandbox needs to reach an
    /// intercepted host and, directly through a splice, the origin itself).
    var trustFile: String { folder.appendingPathComponent("trust.pem").path }

    /// `https://name:port` (or `http://` for a plain origin) plus `path`.
    func url(_ name: String, _ path: String = "/", scheme: String = "https") -> String { "\(scheme)://\(name):\(origin.port)\(path)" }

    static func with<Result: Sendable>(
        credentials: [EgressCredential], refresh: (@Sendable () async throws -> [EgressCredential])? = nil, tls: Bool = true,
        trustOrigin: Bool = true, _ body: (CredentialProxyFixture) async throws -> Result
    ) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("rv-cred-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let origin = try await ReflectingOrigin(tls: tls ? folder.appendingPathComponent("origin-ca").path : nil)
        let authority = try EgressCertificateAuthority.loadOrCreate(directory: folder.appendingPathComponent("proxy-ca").path)
        let interception = try EgressInterception(authority: authority, extraTrustRootsPEM: trustOrigin ? [origin.caPEM].compactMap { $0 } : [])
        try (authority.certificatePEM + (origin.caPEM ?? "")).write(to: folder.appendingPathComponent("trust.pem"), atomically: true, encoding: .utf8)
        let logs = CapturingLogHandler.Store()
        let socketPath = EgressProxyFixture.temporarySocketPath()
        let proxy = EgressProxy(
            sessionID: "sesn_credentials", policy: policy, resolver: FakeHostResolver(names), connectTimeout: .seconds(5),
            credentials: credentials, refreshCredentials: refresh, credentialRefreshInterval: .zero, interception: interception,
            logger: Logger(label: "egress-test") { _ in CapturingLogHandler(store: logs) })
        let forwarder = LoopbackForwarder(proxySocketPath: socketPath)
        do {
            try await proxy.start(socketPath: socketPath)
            let port = try await forwarder.start()
            let fixture = CredentialProxyFixture(
                proxy: proxy, forwarder: forwarder, origin: origin, interception: interception, folder: folder, logs: logs, proxyPort: port)
            let result = try await body(fixture)
            await fixture.stop()
            return result
        } catch {
            await forwarder.stop()
            await proxy.stop()
            await origin.stop()
            throw error
        }
    }

    func stop() async {
        await forwarder.stop()
        await proxy.stop()
        await origin.stop()
    }

    /// Runs the host's `curl` through the proxy (as a sandboxed tool would) and returns its output
    /// and `status=<code>` / `exit=<code>`.
    func curl(_ arguments: [String]) async throws -> String {
        try await HostCommand.run(
            "/usr/bin/curl", ["-sS", "-m", "20", "--proxy", "http://127.0.0.1:\(proxyPort)", "--cacert", trustFile, "-w", "\nstatus=%{http_code}"] + arguments)
    }
}

/// Runs a program on the host and collects its output (standard output, then standard error).
enum HostCommand {
    static func run(_ program: String, _ arguments: [String]) async throws -> String {
        let ended = try await ChildProcess.run(program, arguments: arguments)
        return String(decoding: ended.output, as: UTF8.self) + String(decoding: ended.errors, as: UTF8.self) + "\nexit=\(ended.status)"
    }
}
