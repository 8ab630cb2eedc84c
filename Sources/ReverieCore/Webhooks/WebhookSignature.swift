import Crypto
import Foundation

/// A Standard Webhooks signing secret: `whsec_` followed by the base64 of the key bytes.
public struct WebhookSigningSecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "whsec_"
    /// The HMAC key.
    public let key: Data

    public init(key: Data) {
        self.key = key
    }

    /// A new secret of 32 random bytes.
    public static func generate() -> WebhookSigningSecret {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = generator.next() }
        return WebhookSigningSecret(key: Data(bytes))
    }

    /// Reads `whsec_<base64>` (the prefix is optional; padding may be left off, as the
    /// reference implementation accepts). Nil when it is not base64 or is empty.
    public init?(_ text: String) {
        var body = text.hasPrefix(Self.prefix) ? String(text.dropFirst(Self.prefix.count)) : text
        while body.count % 4 != 0 { body += "=" }
        guard let key = Data(base64Encoded: body), !key.isEmpty else { return nil }
        self.key = key
    }

    /// The `whsec_…` form shown to the endpoint's owner.
    public var text: String { Self.prefix + key.base64EncodedString() }

    /// Redacted, so a secret never lands in a log by accident.
    public var description: String { "whsec_…" }
}

/// Signs webhook deliveries by the Standard Webhooks scheme
/// (https://www.standardwebhooks.com): the signature is the base64 HMAC-SHA256, keyed with
/// the secret's bytes, of `"<webhook-id>.<webhook-timestamp>.<body>"`, sent as `v1,<signature>`.
public enum WebhookSignature {
    /// The headers of a delivery attempt.
    public static func headers(secret: WebhookSigningSecret, id: String, timestamp: Int64, body: Data) -> [(String, String)] {
        [
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", sign(secret: secret, id: id, timestamp: timestamp, body: body)),
        ]
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    public static func sign(secret: WebhookSigningSecret, id: String, timestamp: Int64, body: Data) -> String {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret.key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Whether `signatureHeader` (space-separated `version,signature` pairs) holds a valid
    /// `v1` signature of the message, compared in constant time.
    public static func verify(secret: WebhookSigningSecret, id: String, timestamp: Int64, body: Data, signatureHeader: String) -> Bool {
        var message = Data("\(id).\(timestamp).".utf8)
        message.append(body)
        let key = SymmetricKey(data: secret.key)
        for entry in signatureHeader.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message, using: key) { return true }
        }
        return false
    }
}
