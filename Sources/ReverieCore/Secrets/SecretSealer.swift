import Crypto
import Foundation

/// Encrypts server secrets at rest (webhook signing secrets, vault credentials) with AES-256-GCM
/// under the keyring's current key. Each secret is sealed for a context (the id of the resource
/// it belongs to), authenticated with it, so a sealed value cannot be moved to another resource.
///
/// Sealed form: `v2.<key-id>.` followed by the base64 of nonce, ciphertext and tag. The older
/// `v1.<base64>` form (webhook secrets sealed before keyrings, no key id) is still opened, by
/// trying each key of the ring.
public struct SecretSealer: Sendable {
    public let keyring: SecretKeyring

    public init(keyring: SecretKeyring) {
        self.keyring = keyring
    }

    /// A sealer with one key (tests and in-process tools).
    public init(key: Data, id: String = SecretKeyring.legacyKeyID) throws(APIError) {
        keyring = try SecretKeyring(keys: [try SecretKeyring.Key(id: id, material: key)])
    }

    /// Seals `plaintext` for `context` with the current key.
    public func seal(_ plaintext: Data, context: String) throws -> String {
        let key = keyring.current
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: key.material), authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw APIError.internalError("could not seal a secret") }
        return "v2.\(key.id)." + combined.base64EncodedString()
    }

    /// Opens a value sealed for `context`; fails when no key of the ring opens it.
    public func open(_ sealed: String, context: String) throws -> Data {
        let candidates: [SecretKeyring.Key]
        let encoded: Substring
        if sealed.hasPrefix("v2.") {
            let rest = sealed.dropFirst(3)
            guard let dot = rest.firstIndex(of: ".") else { throw Self.unreadable(context) }
            let id = String(rest[..<dot])
            guard let key = keyring.key(id: id) else {
                throw APIError.internalError("'\(context)': its secret is sealed with key '\(id)', which is not in this server's keyring")
            }
            candidates = [key]
            encoded = rest[rest.index(after: dot)...]
        } else if sealed.hasPrefix("v1.") {
            candidates = keyring.keys.reversed()
            encoded = sealed.dropFirst(3)
        } else {
            throw Self.unreadable(context)
        }
        guard let combined = Data(base64Encoded: String(encoded)), let box = try? AES.GCM.SealedBox(combined: combined) else {
            throw Self.unreadable(context)
        }
        for key in candidates {
            if let plaintext = try? AES.GCM.open(box, using: SymmetricKey(data: key.material), authenticating: Data(context.utf8)) {
                return plaintext
            }
        }
        throw APIError.internalError("'\(context)': its secret cannot be decrypted with this server's keyring (was the key file replaced?)")
    }

    /// Whether `sealed` is already sealed with the current key (a rotation leaves those alone).
    public func isCurrent(_ sealed: String) -> Bool {
        sealed.hasPrefix("v2.\(keyring.current.id).")
    }

    /// Opens `sealed` and seals it again with the current key (unchanged when already current).
    public func reseal(_ sealed: String, context: String) throws -> String {
        if isCurrent(sealed) { return sealed }
        return try seal(try open(sealed, context: context), context: context)
    }

    private static func unreadable(_ context: String) -> APIError {
        APIError.internalError("'\(context)': unreadable sealed secret")
    }
}

extension SecretSealer {
    /// Seals a webhook endpoint's signing secret.
    public func seal(_ secret: WebhookSigningSecret, endpointID: String) throws -> String {
        try seal(secret.key, context: endpointID)
    }

    /// Opens a webhook endpoint's signing secret.
    public func open(_ sealed: String, endpointID: String) throws -> WebhookSigningSecret {
        WebhookSigningSecret(key: try open(sealed, context: endpointID))
    }
}
