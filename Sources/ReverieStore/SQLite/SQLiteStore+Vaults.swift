import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let vaultsSchema = """
        CREATE TABLE vaults (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            body TEXT NOT NULL
        );
        CREATE INDEX vaults_created ON vaults(created_at, id);
        CREATE TABLE vault_credentials (
            id TEXT PRIMARY KEY,
            vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
            slot TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            body TEXT NOT NULL,
            sealed_secrets TEXT NOT NULL
        );
        CREATE INDEX vault_credentials_vault ON vault_credentials(vault_id, created_at, id);
        """

    // MARK: vaults

    public func createVault(_ vault: Vault) async throws {
        let body = try Self.encode(vault)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO vaults (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                arguments: [vault.id, Timestamp.micros(vault.createdAt), vault.archivedAt.map(Timestamp.micros), body])
            try Self.enqueue([OutboxEvent(type: "vault.created", resourceID: vault.id, createdAt: vault.createdAt)], db)
        }
    }

    public func vault(id: String) async throws -> Vault? {
        try await read { db in try Self.vault(id: id, db) }
    }

    static func vault(id: String, _ db: Database) throws -> Vault? {
        try String.fetchOne(db, sql: "SELECT body FROM vaults WHERE id = ?", arguments: [id]).map { try decode(Vault.self, $0) }
    }

    public func updateVault(id: String, _ change: @Sendable (Vault) throws -> Vault) async throws -> Vault {
        try await write { db in
            guard let current = try Self.vault(id: id, db) else { throw APIError.notFound("vault", id) }
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE vaults SET archived_at = ?, body = ? WHERE id = ?", arguments: [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            return next
        }
    }

    public func archiveVault(id: String, at date: Date) async throws -> Vault {
        try await write { db in
            guard var vault = try Self.vault(id: id, db) else { throw APIError.notFound("vault", id) }
            guard vault.archivedAt == nil else { return vault }
            vault.archivedAt = date
            vault.updatedAt = date
            try db.execute(sql: "UPDATE vaults SET archived_at = ?, body = ? WHERE id = ?", arguments: [Timestamp.micros(date), try Self.encode(vault), id])
            var events = [OutboxEvent(type: "vault.archived", resourceID: id, createdAt: date)]
            let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL", arguments: [id])
            for row in rows {
                var credential = try Self.decode(VaultCredential.self, row["body"])
                credential.archivedAt = date
                credential.updatedAt = date
                try db.execute(
                    sql: "UPDATE vault_credentials SET archived_at = ?, body = ? WHERE id = ?",
                    arguments: [Timestamp.micros(date), try Self.encode(credential), credential.id])
                events.append(OutboxEvent(type: "vault_credential.archived", resourceID: credential.id, createdAt: date, attributes: ["vault_id": id]))
            }
            try Self.enqueue(events, db)
            return vault
        }
    }

    public func listVaults(includeArchived: Bool, page: PageRequest) async throws -> Page<Vault> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try query.page(
                db, from: "vaults", select: "id, created_at, body", page: page, decode: { try Self.decode(Vault.self, $0["body"]) },
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteVault(id: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM vaults WHERE id = ?", arguments: [id]) != nil else { throw APIError.notFound("vault", id) }
            let credentials = try String.fetchAll(db, sql: "SELECT id FROM vault_credentials WHERE vault_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM vault_credentials WHERE vault_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM vaults WHERE id = ?", arguments: [id])
            try Self.enqueue(
                credentials.map { OutboxEvent(type: "vault_credential.deleted", resourceID: $0, attributes: ["vault_id": id]) }
                    + [OutboxEvent(type: "vault.deleted", resourceID: id)], db)
        }
    }

    // MARK: credentials

    public func createCredential(_ stored: StoredCredential, limit: Int) async throws {
        let credential = stored.credential
        let body = try Self.encode(credential)
        try await write { db in
            guard let vault = try Self.vault(id: credential.vaultID, db) else { throw APIError.notFound("vault", credential.vaultID) }
            if vault.archivedAt != nil { throw APIError.archived("vault", vault.id) }
            let live = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL", arguments: [vault.id]) ?? 0
            if live >= limit { throw APIError.conflict("vault '\(vault.id)' already holds \(limit) credentials; archive or delete one first") }
            if let clash = try String.fetchOne(
                db, sql: "SELECT id FROM vault_credentials WHERE vault_id = ? AND slot = ? AND archived_at IS NULL", arguments: [vault.id, credential.slot])
            {
                throw APIError.conflict(VaultCredential.clashMessage(credential, existing: clash))
            }
            try db.execute(
                sql: "INSERT INTO vault_credentials (id, vault_id, slot, created_at, archived_at, body, sealed_secrets) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [credential.id, vault.id, credential.slot, Timestamp.micros(credential.createdAt), nil as Int64?, body, stored.sealedSecrets])
            try Self.enqueue(
                [OutboxEvent(type: "vault_credential.created", resourceID: credential.id, createdAt: credential.createdAt, attributes: ["vault_id": vault.id])],
                db)
        }
    }

    public func credential(vaultID: String, id: String) async throws -> StoredCredential? {
        try await read { db in try Self.credential(vaultID: vaultID, id: id, db) }
    }

    static func credential(vaultID: String, id: String, _ db: Database) throws -> StoredCredential? {
        guard let row = try Row.fetchOne(db, sql: "SELECT body, sealed_secrets FROM vault_credentials WHERE id = ? AND vault_id = ?", arguments: [id, vaultID])
        else { return nil }
        return StoredCredential(credential: try decode(VaultCredential.self, row["body"]), sealedSecrets: row["sealed_secrets"])
    }

    public func updateCredential(vaultID: String, id: String, _ change: @Sendable (StoredCredential) throws -> StoredCredential) async throws
        -> StoredCredential
    {
        try await write { db in
            guard let current = try Self.credential(vaultID: vaultID, id: id, db) else { throw APIError.notFound("vault credential", id) }
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE vault_credentials SET archived_at = ?, body = ?, sealed_secrets = ? WHERE id = ?",
                arguments: [next.credential.archivedAt.map(Timestamp.micros), try Self.encode(next.credential), next.sealedSecrets, id])
            if current.credential.archivedAt == nil, let archivedAt = next.credential.archivedAt {
                try Self.enqueue([OutboxEvent(type: "vault_credential.archived", resourceID: id, createdAt: archivedAt, attributes: ["vault_id": vaultID])], db)
            }
            return next
        }
    }

    public func listCredentials(vaultID: String, includeArchived: Bool, page: PageRequest) async throws -> Page<VaultCredential> {
        try await read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM vaults WHERE id = ?", arguments: [vaultID]) != nil else {
                throw APIError.notFound("vault", vaultID)
            }
            var query = KeysetQuery(sortColumn: "created_at")
            query.filter("vault_id = ?", [vaultID])
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try query.page(
                db, from: "vault_credentials", select: "id, created_at, body", page: page,
                decode: { try Self.decode(VaultCredential.self, $0["body"]) }, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteCredential(vaultID: String, id: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM vault_credentials WHERE id = ? AND vault_id = ?", arguments: [id, vaultID]) != nil else {
                throw APIError.notFound("vault credential", id)
            }
            try db.execute(sql: "DELETE FROM vault_credentials WHERE id = ?", arguments: [id])
            try Self.enqueue([OutboxEvent(type: "vault_credential.deleted", resourceID: id, attributes: ["vault_id": vaultID])], db)
        }
    }

    public func liveCredentials(vaultIDs: [String]) async throws -> [StoredCredential] {
        try await read { db in
            var result: [StoredCredential] = []
            for vaultID in vaultIDs {
                guard let vault = try Self.vault(id: vaultID, db), vault.archivedAt == nil else { continue }
                let rows = try Row.fetchAll(
                    db, sql: "SELECT body, sealed_secrets FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL ORDER BY created_at, id",
                    arguments: [vaultID])
                for row in rows {
                    result.append(StoredCredential(credential: try Self.decode(VaultCredential.self, row["body"]), sealedSecrets: row["sealed_secrets"]))
                }
            }
            return result
        }
    }

    // MARK: key rotation

    public func resealSecrets(_ reseal: @Sendable (String, String) throws -> String) async throws -> Int {
        try await write { db in
            var changed = 0
            for (table, column) in [("webhook_endpoints", "secret"), ("vault_credentials", "sealed_secrets")] {
                for row in try Row.fetchAll(db, sql: "SELECT id, \(column) AS sealed FROM \(table)") {
                    let id: String = row["id"]
                    let sealed: String = row["sealed"]
                    let next = try reseal(id, sealed)
                    guard next != sealed else { continue }
                    try db.execute(sql: "UPDATE \(table) SET \(column) = ? WHERE id = ?", arguments: [next, id])
                    changed += 1
                }
            }
            return changed
        }
    }
}
