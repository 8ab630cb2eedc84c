import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func createAPIKey(_ key: APIKeyRecord) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO api_keys (id, name, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [key.id, key.name, key.secretHash, Timestamp.micros(key.createdAt), key.revokedAt.map(Timestamp.micros)])
        }
    }

    public func apiKey(hash: String) async throws -> APIKeyRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .map(Self.apiKeyRecord)
        }
    }

    public func listAPIKeys() async throws -> [APIKeyRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at").map(Self.apiKeyRecord)
        }
    }

    public func revokeAPIKey(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Timestamp.micros(Date()), id])
            return db.changesCount > 0
        }
    }

    static func apiKeyRecord(_ row: Row) -> APIKeyRecord {
        APIKeyRecord(
            id: row["id"], name: row["name"], secretHash: row["secret_hash"],
            createdAt: Timestamp.fromMicros(row["created_at"]),
            revokedAt: (row["revoked_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
