import Foundation
import ReverieCore
import ReverieStore

/// `/v1/environments/{id}/keys` (a Reverie extension): the keys an environment's workers hold.
extension EnvironmentService {
    /// `POST …/keys {name}`: a new key; its secret is returned this once and stored only hashed.
    public func createKey(environmentID: String, body: JSONValue) async throws -> CreatedEnvironmentKey {
        let reader = try ObjectReader(body, at: FieldPath())
        try reader.rejectUnknown(["name"])
        let name = try reader.string("name") ?? "worker"
        try Rules.length(name, reader.field("name"), min: 1, max: 256)
        let environment = try await environment(id: environmentID)
        if environment.archivedAt != nil { throw APIError.archived("environment", environmentID) }
        let (key, secret) = EnvironmentKey.generate(environmentID: environmentID, name: name)
        try await store.createEnvironmentKey(key)
        return CreatedEnvironmentKey(key: key, secret: secret)
    }

    /// `GET …/keys`: every key of the environment, revoked ones included, never a secret.
    public func listKeys(environmentID: String) async throws -> [EnvironmentKey] {
        _ = try await environment(id: environmentID)
        return try await store.listEnvironmentKeys(environmentID: environmentID)
    }

    /// `DELETE …/keys/{key_id}`: revokes the key at once.
    public func revokeKey(environmentID: String, id: String) async throws {
        _ = try await environment(id: environmentID)
        guard try await store.revokeEnvironmentKey(environmentID: environmentID, id: id) else { throw APIError.notFound("environment key", id) }
    }

    /// The unrevoked key with this secret (for authentication).
    public func key(secret: String) async throws -> EnvironmentKey? {
        try await store.environmentKey(hash: APIKeyRecord.hash(secret))
    }
}
