#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Crypto
import Foundation
import NIOSSL
import ReverieCore
import SwiftASN1
import Synchronization
import X509

/// The installation's own certificate authority, with which the egress proxy terminates TLS for
/// destinations whose requests it rewrites (see `EgressInterception`). Sandboxes trust it
/// (`sandboxBundlePath`); nothing else does.
///
/// It lives in one folder, apart from the database: `ca.pem` (the certificate, shown to
/// sandboxes), `ca-key.pem` (its P-256 key, mode 0600, read by this process only) and
/// `sandbox-bundle.pem` (the system's trusted roots plus `ca.pem`, rewritten at each start).
/// Leaf certificates are made on demand for the host a sandbox connects to, with a key of this
/// process's, and kept in memory for a day.
public final class EgressCertificateAuthority: Sendable {
    public static let certificateFile = "ca.pem"
    public static let keyFile = "ca-key.pem"
    public static let bundleFile = "sandbox-bundle.pem"
    /// Where the system's trusted roots are read from for the sandbox bundle, first found.
    static let systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    /// The CA certificate, PEM.
    public let certificatePEM: String
    /// The file sandboxes use as their trust store.
    public let sandboxBundlePath: String
    private let certificate: Certificate
    private let key: P256.Signing.PrivateKey
    private let leafKey = P256.Signing.PrivateKey()
    private let leaves = Mutex<[String: Leaf]>([:])

    private struct Leaf {
        let chain: [NIOSSLCertificate]
        let made: Date
    }

    /// How long a leaf is used before a new one is made; leaves are valid for a week.
    static let leafReuse: TimeInterval = 24 * 3600
    /// Hosts whose leaf (and TLS context) is kept; past this the caches start over.
    static let maximumCachedHosts = 1024

    private init(certificate: Certificate, certificatePEM: String, key: P256.Signing.PrivateKey, sandboxBundlePath: String) {
        self.certificate = certificate
        self.certificatePEM = certificatePEM
        self.key = key
        self.sandboxBundlePath = sandboxBundlePath
    }

    /// Reads the authority in `directory`, creating it (and the folder, 0700) the first time.
    public static func loadOrCreate(directory: String) throws(EgressCertificateAuthorityError) -> EgressCertificateAuthority {
        let certificatePath = (directory as NSString).appendingPathComponent(certificateFile)
        let keyPath = (directory as NSString).appendingPathComponent(keyFile)
        let bundlePath = (directory as NSString).appendingPathComponent(bundleFile)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw EgressCertificateAuthorityError("cannot create \(directory): \(error.localizedDescription)")
        }
        let certificate: Certificate
        let key: P256.Signing.PrivateKey
        if FileManager.default.fileExists(atPath: keyPath) {
            do {
                key = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: keyPath, encoding: .utf8))
                certificate = try Certificate(pemEncoded: try String(contentsOfFile: certificatePath, encoding: .utf8))
            } catch {
                throw EgressCertificateAuthorityError("\(directory) does not hold a readable egress CA (\(keyFile), \(certificateFile))")
            }
            guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
                throw EgressCertificateAuthorityError("\(certificatePath) does not belong to \(keyPath)")
            }
        } else {
            key = P256.Signing.PrivateKey()
            do {
                certificate = try makeAuthorityCertificate(key: key)
            } catch {
                throw EgressCertificateAuthorityError("the egress CA could not be made: \(error)")
            }
            try writeNew(keyPath, key.pemRepresentation + "\n", mode: 0o600)
            try replace(certificatePath, try pem(certificate), mode: 0o644)
        }
        let certificatePEM = try pem(certificate)
        let system = systemBundles.lazy.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.first ?? ""
        try replace(bundlePath, (system.hasSuffix("\n") || system.isEmpty ? system : system + "\n") + certificatePEM, mode: 0o644)
        return EgressCertificateAuthority(certificate: certificate, certificatePEM: certificatePEM, key: key, sandboxBundlePath: bundlePath)
    }

    /// The certificate chain (leaf, then this CA) and key to present to a sandbox for `host`, a
    /// lowercased DNS name or an IP literal.
    public func serverIdentity(for host: String) throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let now = Date()
        let chain: [NIOSSLCertificate]
        if let cached = leaves.withLock({ $0[host] }), now.timeIntervalSince(cached.made) < Self.leafReuse {
            chain = cached.chain
        } else {
            let leaf = try makeLeaf(for: host, now: now)
            chain = [
                try NIOSSLCertificate(bytes: try Self.der(leaf), format: .der), try NIOSSLCertificate(bytes: try Self.der(certificate), format: .der),
            ]
            leaves.withLock { leaves in
                if leaves.count >= Self.maximumCachedHosts { leaves.removeAll() }
                leaves[host] = Leaf(chain: chain, made: now)
            }
        }
        return (chain, try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem))
    }

    private func makeLeaf(for host: String, now: Date) throws -> Certificate {
        let name: GeneralName
        if let address = NetworkAddress(host) {
            name = .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address.bytes)))
        } else {
            name = .dnsName(host)
        }
        let publicKey = Certificate.PublicKey(leafKey.publicKey)
        let authorityKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(7 * 24 * 3600),
            issuer: certificate.subject, subject: try DistinguishedName { CommonName(host) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([name])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    private static func makeAuthorityCertificate(key: P256.Signing.PrivateKey) throws -> Certificate {
        let now = Date()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try DistinguishedName {
            OrganizationName("Reverie")
            CommonName("Reverie egress proxy CA \(String(UInt32.random(in: 0...UInt32.max), radix: 16))")
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 24 * 3600),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
    }

    private static func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }

    private static func pem(_ certificate: Certificate) throws(EgressCertificateAuthorityError) -> String {
        do {
            return try certificate.serializeAsPEM().pemString + "\n"
        } catch {
            throw EgressCertificateAuthorityError("the egress CA certificate could not be encoded")
        }
    }

    /// Creates `path` with `mode` (never replacing one another process made first).
    private static func writeNew(_ path: String, _ text: String, mode: mode_t) throws(EgressCertificateAuthorityError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard descriptor >= 0 else { throw EgressCertificateAuthorityError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else { throw EgressCertificateAuthorityError("cannot write \(path)") }
    }

    /// Writes `path` whole through a temporary file and a rename.
    private static func replace(_ path: String, _ text: String, mode: mode_t) throws(EgressCertificateAuthorityError) {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        try writeNew(temporary, text, mode: mode)
        guard rename(temporary, path) == 0 else { throw EgressCertificateAuthorityError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}

/// Why the egress CA could not be read or made.
public struct EgressCertificateAuthorityError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
