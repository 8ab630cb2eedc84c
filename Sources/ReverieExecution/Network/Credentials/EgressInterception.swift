import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// What an egress proxy needs to rewrite HTTPS requests: the installation's CA, which signs the
/// certificate the sandbox is shown for the host it asked for, and the trust used for the real
/// destination (the system's roots, plus extra roots an operator or a test names).
///
/// Only destinations a session credential applies to are intercepted; every other CONNECT
/// stays a plain byte splice the proxy cannot read.
public final class EgressInterception: Sendable {
    public let authority: EgressCertificateAuthority
    /// The TLS client context for destinations: full verification of the host name.
    let upstreamContext: NIOSSLContext
    private let serverContexts = Mutex<[String: (context: NIOSSLContext, made: Date)]>([:])

    /// - Parameters:
    ///   - authority: The installation's CA.
    ///   - extraTrustRootsPEM: PEM certificates trusted for destinations besides the system's roots.
    public init(authority: EgressCertificateAuthority, extraTrustRootsPEM: [String] = []) throws {
        self.authority = authority
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.applicationProtocols = ["http/1.1"]
        let extra = try extraTrustRootsPEM.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
        if !extra.isEmpty { configuration.additionalTrustRoots = [.certificates(extra)] }
        upstreamContext = try NIOSSLContext(configuration: configuration)
    }

    /// The TLS server context presenting a certificate for `host`; a client hello naming another
    /// host (SNI) fails the handshake.
    func serverContext(for host: String) throws -> NIOSSLContext {
        let now = Date()
        if let cached = serverContexts.withLock({ $0[host] }), now.timeIntervalSince(cached.made) < EgressCertificateAuthority.leafReuse {
            return cached.context
        }
        let identity = try authority.serverIdentity(for: host)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.chain.map { .certificate($0) }, privateKey: .privateKey(identity.key))
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { values, promise in
            if let named = values.serverHostname, Self.normalized(named) != host {
                promise.fail(EgressServerNameMismatch(expected: host, named: named))
            } else {
                promise.succeed(.noChanges)
            }
        }
        let context = try NIOSSLContext(configuration: configuration)
        serverContexts.withLock { contexts in
            if contexts.count >= EgressCertificateAuthority.maximumCachedHosts { contexts.removeAll() }
            contexts[host] = (context, now)
        }
        return context
    }

    private static func normalized(_ name: String) -> String {
        var value = name.lowercased()
        if value.hasSuffix(".") { value.removeLast() }
        return value
    }
}

/// A sandbox's TLS client hello named a host other than the one it sent CONNECT for.
struct EgressServerNameMismatch: Error, CustomStringConvertible {
    let expected: String
    let named: String
    var description: String { "the TLS server name '\(named)' is not the CONNECT host '\(expected)'" }
}
