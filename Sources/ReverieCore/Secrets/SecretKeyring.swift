import Crypto
import Foundation

/// The server's keys for sealing secrets at rest, by key id. New secrets are sealed with the
/// `current` key; older keys stay in the ring until a rotation has re-sealed everything with
/// the current one.
public struct SecretKeyring: Sendable {
    /// One key: an id (letters, digits, `-`, `_`) and 32 bytes.
    public struct Key: Sendable {
        public let id: String
        public let material: Data

        public init(id: String, material: Data) throws(APIError) {
            guard Self.isValidID(id) else { throw APIError.internalError("secret key id '\(id.prefix(40))' must be 1-64 letters, digits, '-' or '_'") }
            guard material.count == 32 else { throw APIError.internalError("secret key '\(id)' must be 32 bytes (got \(material.count))") }
            self.id = id
            self.material = material
        }

        /// A fresh random key with a random id.
        public static func generate() -> Key {
            var generator = SystemRandomNumberGenerator()
            let material = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let id = "k" + (0..<10).map { _ in String(UInt8.random(in: 0...15, using: &generator), radix: 16) }.joined()
            guard let key = try? Key(id: id, material: material) else { preconditionFailure("a generated key is always valid") }
            return key
        }

        static func isValidID(_ id: String) -> Bool {
            !id.isEmpty && id.utf8.count <= 64
                && id.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "-" || $0 == "_" }
        }
    }

    /// Oldest first; the last is the current key.
    public let keys: [Key]

    /// `keys` must be non-empty with distinct ids; the last one is current.
    public init(keys: [Key]) throws(APIError) {
        guard !keys.isEmpty else { throw APIError.internalError("the secret keyring holds no key") }
        guard Set(keys.map(\.id)).count == keys.count else { throw APIError.internalError("the secret keyring repeats a key id") }
        self.keys = keys
    }

    /// The key new secrets are sealed with.
    public var current: Key { keys[keys.count - 1] }

    /// The key with `id`.
    public func key(id: String) -> Key? { keys.first { $0.id == id } }

    /// This ring with `key` added as the current one.
    public func adding(_ key: Key) throws(APIError) -> SecretKeyring {
        try SecretKeyring(keys: keys + [key])
    }

    /// This ring reduced to its current key.
    public var currentOnly: SecretKeyring {
        guard let ring = try? SecretKeyring(keys: [current]) else { preconditionFailure("one key is always a valid ring") }
        return ring
    }

    // MARK: text form

    /// The file form: one `<key-id> <base64 key>` line per key, oldest first (the last is current).
    public var text: String {
        keys.map { "\($0.id) \($0.material.base64EncodedString())\n" }.joined()
    }

    /// Parses the file form. A single line holding only a base64 key (the older `webhook.key`
    /// form) is read as the key `legacyID`.
    public static func parse(_ text: String, legacyID: String = SecretKeyring.legacyKeyID) throws(APIError) -> SecretKeyring {
        var keys: [Key] = []
        for (index, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            let (id, encoded) = parts.count == 1 ? (legacyID, String(parts[0])) : (String(parts[0]), String(parts.count == 2 ? parts[1] : ""))
            guard parts.count <= 2, let material = Data(base64Encoded: encoded) else {
                throw APIError.internalError("secret keyring line \(index + 1) is not '<key-id> <base64 key>'")
            }
            keys.append(try Key(id: id, material: material))
        }
        return try SecretKeyring(keys: keys)
    }

    /// The id given to the key of a `webhook.key` file from before keyrings.
    public static let legacyKeyID = "webhook-key"
}
