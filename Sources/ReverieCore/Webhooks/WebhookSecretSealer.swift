import Crypto
import Foundation

/// Encrypts signing secrets at rest with the server's key (AES-256-GCM). The endpoint id is
/// authenticated with each secret, so a sealed secret cannot be moved to another endpoint.
///
/// Sealed form: `v1.` followed by the base64 of nonce, ciphertext and tag.
public struct WebhookSecretSealer: Sendable {
    private let key: SymmetricKey

    /// The key must be 32 bytes.
    public init(key: Data) throws(APIError) {
        guard key.count == 32 else { throw APIError.internalError("the webhook secret key must be 32 bytes (got \(key.count))") }
        self.key = SymmetricKey(data: key)
    }

    public func seal(_ secret: WebhookSigningSecret, endpointID: String) throws -> String {
        let box = try AES.GCM.seal(secret.key, using: key, authenticating: Data(endpointID.utf8))
        guard let combined = box.combined else { throw APIError.internalError("could not seal a webhook secret") }
        return "v1." + combined.base64EncodedString()
    }

    /// Opens a sealed secret; fails when it was sealed with another key or for another endpoint.
    public func open(_ sealed: String, endpointID: String) throws -> WebhookSigningSecret {
        guard sealed.hasPrefix("v1."), let combined = Data(base64Encoded: String(sealed.dropFirst(3))) else {
            throw APIError.internalError("webhook endpoint '\(endpointID)': unreadable sealed secret")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return WebhookSigningSecret(key: try AES.GCM.open(box, using: key, authenticating: Data(endpointID.utf8)))
        } catch {
            throw APIError.internalError(
                "webhook endpoint '\(endpointID)': its signing secret cannot be decrypted with this server's key (was webhook.key replaced?)")
        }
    }
}
