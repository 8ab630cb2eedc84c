import Crypto
import Foundation

/// A credential of one environment, held by its workers: it reaches that environment's work
/// queue and the events of its sessions, nothing else. The secret is shown once, at creation;
/// only its SHA-256 is stored.
public struct EnvironmentKey: Sendable, Equatable {
    public var id: String
    public var environmentID: String
    public var name: String
    public var secretHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, environmentID: String, name: String, secretHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.environmentID = environmentID
        self.name = name
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// A new key of `environmentID`: the record to store and the secret to show once.
    public static func generate(environmentID: String, name: String, now: Date = Timestamp.now()) -> (key: EnvironmentKey, secret: String) {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let secret = "rvek_" + String((0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
        let key = EnvironmentKey(
            id: ResourceID.make(ResourceID.environmentKey, at: now), environmentID: environmentID, name: name,
            secretHash: APIKeyRecord.hash(secret), createdAt: now)
        return (key, secret)
    }
}

extension EnvironmentKey: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, type, name
        case environmentID = "environment_id"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }

    /// The key as listed: never its secret or hash.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("environment_key", forKey: .type)
        try container.encode(environmentID, forKey: .environmentID)
        try container.encode(name, forKey: .name)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(revokedAt.map(Timestamp.format), forKey: .revokedAt)
    }
}

/// The answer to creating a key: the key and, this once, its secret (`key`).
public struct CreatedEnvironmentKey: Sendable, Encodable {
    public var key: EnvironmentKey
    public var secret: String

    public init(key: EnvironmentKey, secret: String) {
        self.key = key
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey { case key }

    public func encode(to encoder: any Encoder) throws {
        try key.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(secret, forKey: .key)
    }
}
