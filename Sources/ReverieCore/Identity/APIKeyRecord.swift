import Crypto
import Foundation

/// A stored API key: its id, a name, and the SHA-256 of its secret (the secret itself is
/// shown once at creation and never stored).
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var secretHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, secretHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// A new key: the record to store and the secret to show once.
    public static func generate(name: String, now: Date = Timestamp.now()) -> (record: APIKeyRecord, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let secret = "rvk_" + String((0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
        let record = APIKeyRecord(id: ResourceID.make(ResourceID.apiKey), name: name, secretHash: hash(secret), createdAt: now)
        return (record, secret)
    }

    /// The stored form of a secret.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
