import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    // MARK: vaults

    public func createVault(_ vault: Vault) async throws {
        let body = try Self.encode(vault)
        try await write { db in
            try await db.execute(
                "INSERT INTO vaults (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                [vault.id, Timestamp.micros(vault.createdAt), vault.archivedAt.map(Timestamp.micros), body])
            try await Self.enqueue([OutboxEvent(type: "vault.created", resourceID: vault.id, createdAt: vault.createdAt)], db)
        }
    }

    public func vault(id: String) async throws -> Vault? {
        try await read { db in try await Self.vault(id: id, db) }
    }

    static func vault(id: String, _ db: SQLConnection, forUpdate: Bool = false) async throws -> Vault? {
        try await db.scalar(String.self, "SELECT body FROM vaults WHERE id = ?" + (forUpdate ? " FOR UPDATE" : ""), [id]).map { try decode(Vault.self, $0) }
    }

    public func updateVault(id: String, _ change: @Sendable (Vault) throws -> Vault) async throws -> Vault {
        try await write { db in
            guard let current = try await Self.vault(id: id, db, forUpdate: true) else { throw APIError.notFound("vault", id) }
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE vaults SET archived_at = ?, body = ? WHERE id = ?", [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            return next
        }
    }

    public func archiveVault(id: String, at date: Date) async throws -> Vault {
        try await write { db in
            guard var vault = try await Self.vault(id: id, db, forUpdate: true) else { throw APIError.notFound("vault", id) }
            guard vault.archivedAt == nil else { return vault }
            vault.archivedAt = date
            vault.updatedAt = date
            try await db.execute("UPDATE vaults SET archived_at = ?, body = ? WHERE id = ?", [Timestamp.micros(date), try Self.encode(vault), id])
            var events = [OutboxEvent(type: "vault.archived", resourceID: id, createdAt: date)]
            let rows = try await db.fetchAll("SELECT id, body FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL", [id])
            for row in rows {
                var credential = try Self.decode(VaultCredential.self, try row["body"])
                credential.archivedAt = date
                credential.updatedAt = date
                try await db.execute(
                    "UPDATE vault_credentials SET archived_at = ?, body = ? WHERE id = ?",
                    [Timestamp.micros(date), try Self.encode(credential), credential.id])
                events.append(OutboxEvent(type: "vault_credential.archived", resourceID: credential.id, createdAt: date, attributes: ["vault_id": id]))
            }
            try await Self.enqueue(events, db)
            return vault
        }
    }

    public func listVaults(includeArchived: Bool, page: PageRequest) async throws -> Page<Vault> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try await query.page(
                db, from: "vaults", select: "id, created_at, body", page: page, decode: { try Self.decode(Vault.self, try $0["body"]) },
                position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteVault(id: String) async throws {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM vaults WHERE id = ? FOR UPDATE", [id]) != nil else { throw APIError.notFound("vault", id) }
            let credentials = try await db.column(String.self, "SELECT id FROM vault_credentials WHERE vault_id = ?", [id])
            try await db.execute("DELETE FROM vault_credentials WHERE vault_id = ?", [id])
            try await db.execute("DELETE FROM vaults WHERE id = ?", [id])
            try await Self.enqueue(
                credentials.map { OutboxEvent(type: "vault_credential.deleted", resourceID: $0, attributes: ["vault_id": id]) }
                    + [OutboxEvent(type: "vault.deleted", resourceID: id)], db)
        }
    }

    // MARK: credentials

    public func createCredential(_ stored: StoredCredential, limit: Int) async throws {
        let credential = stored.credential
        let body = try Self.encode(credential)
        try await write { db in
            guard let vault = try await Self.vault(id: credential.vaultID, db, forUpdate: true) else { throw APIError.notFound("vault", credential.vaultID) }
            if vault.archivedAt != nil { throw APIError.archived("vault", vault.id) }
            let live = try await db.scalar(
                Int.self, "SELECT count(*) FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL", [vault.id]) ?? 0
            if live >= limit { throw APIError.conflict("vault '\(vault.id)' already holds \(limit) credentials; archive or delete one first") }
            if let clash = try await db.scalar(
                String.self, "SELECT id FROM vault_credentials WHERE vault_id = ? AND slot = ? AND archived_at IS NULL", [vault.id, credential.slot])
            {
                throw APIError.conflict(VaultCredential.clashMessage(credential, existing: clash))
            }
            try await db.execute(
                "INSERT INTO vault_credentials (id, vault_id, slot, created_at, archived_at, body, sealed_secrets) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [credential.id, vault.id, credential.slot, Timestamp.micros(credential.createdAt), Int64?.none, body, stored.sealedSecrets])
            try await Self.enqueue(
                [OutboxEvent(type: "vault_credential.created", resourceID: credential.id, createdAt: credential.createdAt, attributes: ["vault_id": vault.id])],
                db)
        }
    }

    public func credential(vaultID: String, id: String) async throws -> StoredCredential? {
        try await read { db in try await Self.credential(vaultID: vaultID, id: id, db) }
    }

    static func credential(vaultID: String, id: String, _ db: SQLConnection, forUpdate: Bool = false) async throws -> StoredCredential? {
        guard let row = try await db.fetchOne("SELECT body, sealed_secrets FROM vault_credentials WHERE id = ? AND vault_id = ?" + (forUpdate ? " FOR UPDATE" : ""), [id, vaultID])
        else { return nil }
        return StoredCredential(credential: try decode(VaultCredential.self, try row["body"]), sealedSecrets: try row["sealed_secrets"])
    }

    public func updateCredential(vaultID: String, id: String, _ change: @Sendable (StoredCredential) throws -> StoredCredential) async throws
        -> StoredCredential
    {
        try await write { db in
            guard let current = try await Self.credential(vaultID: vaultID, id: id, db, forUpdate: true) else { throw APIError.notFound("vault credential", id) }
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE vault_credentials SET archived_at = ?, body = ?, sealed_secrets = ? WHERE id = ?",
                [next.credential.archivedAt.map(Timestamp.micros), try Self.encode(next.credential), next.sealedSecrets, id])
            if current.credential.archivedAt == nil, let archivedAt = next.credential.archivedAt {
                try await Self.enqueue([OutboxEvent(type: "vault_credential.archived", resourceID: id, createdAt: archivedAt, attributes: ["vault_id": vaultID])], db)
            }
            return next
        }
    }

    public func listCredentials(vaultID: String, includeArchived: Bool, page: PageRequest) async throws -> Page<VaultCredential> {
        try await read { db in
            guard try await db.fetchOne("SELECT 1 FROM vaults WHERE id = ?", [vaultID]) != nil else {
                throw APIError.notFound("vault", vaultID)
            }
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            query.filter("vault_id = ?", [vaultID])
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try await query.page(
                db, from: "vault_credentials", select: "id, created_at, body", page: page,
                decode: { try Self.decode(VaultCredential.self, try $0["body"]) }, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteCredential(vaultID: String, id: String) async throws {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM vault_credentials WHERE id = ? AND vault_id = ? FOR UPDATE", [id, vaultID]) != nil else {
                throw APIError.notFound("vault credential", id)
            }
            try await db.execute("DELETE FROM vault_credentials WHERE id = ?", [id])
            try await Self.enqueue([OutboxEvent(type: "vault_credential.deleted", resourceID: id, attributes: ["vault_id": vaultID])], db)
        }
    }

    public func liveCredentials(vaultIDs: [String]) async throws -> [StoredCredential] {
        try await read { db in
            var result: [StoredCredential] = []
            for vaultID in vaultIDs {
                guard let vault = try await Self.vault(id: vaultID, db), vault.archivedAt == nil else { continue }
                let rows = try await db.fetchAll(
                    "SELECT body, sealed_secrets FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL ORDER BY created_at, id",
                    [vaultID])
                for row in rows {
                    result.append(StoredCredential(credential: try Self.decode(VaultCredential.self, try row["body"]), sealedSecrets: try row["sealed_secrets"]))
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
                for row in try await db.fetchAll("SELECT id, \(column) AS sealed FROM \(table)") {
                    let id: String = try row["id"]
                    let sealed: String = try row["sealed"]
                    let next = try reseal(id, sealed)
                    guard next != sealed else { continue }
                    try await db.execute("UPDATE \(table) SET \(column) = ? WHERE id = ?", [next, id])
                    changed += 1
                }
            }
            return changed
        }
    }
}
