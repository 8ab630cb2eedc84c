import Foundation
import ReverieCore
import ReverieStore

/// `/v1/vaults` and `/v1/vaults/{id}/credentials`. Credential secrets are sealed here, before
/// they reach the store, and never returned.
public struct VaultService: Sendable {
    let store: any VaultStore & WebhookStore
    let sealer: SecretSealer
    let prober: CredentialProber

    public init(store: any VaultStore & WebhookStore, sealer: SecretSealer, prober: CredentialProber) {
        self.store = store
        self.sealer = sealer
        self.prober = prober
    }
}

extension VaultService {
    // MARK: vaults

    /// `POST /v1/vaults`.
    public func createVault(_ request: VaultRequest) async throws -> Vault {
        let now = Timestamp.now()
        let vault = try request.makeVault(id: ResourceID.make(ResourceID.vault, at: now), now: now)
        try await store.createVault(vault)
        return vault
    }

    /// `GET /v1/vaults/{id}`.
    public func vault(id: String) async throws -> Vault {
        guard let vault = try await store.vault(id: id) else { throw APIError.notFound("vault", id) }
        return vault
    }

    /// `POST /v1/vaults/{id}`.
    public func updateVault(id: String, _ request: VaultRequest) async throws -> Vault {
        let now = Timestamp.now()
        return try await store.updateVault(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("vault", id) }
            return try request.applied(to: current, now: now)
        }
    }

    /// `GET /v1/vaults`.
    public func listVaults(includeArchived: Bool, page: PageRequest) async throws -> Page<Vault> {
        try await store.listVaults(includeArchived: includeArchived, page: page)
    }

    /// `POST /v1/vaults/{id}/archive`: the vault and its credentials.
    public func archiveVault(id: String) async throws -> Vault {
        try await store.archiveVault(id: id, at: Timestamp.now())
    }

    /// `DELETE /v1/vaults/{id}`: the vault and its credentials.
    public func deleteVault(id: String) async throws {
        try await store.deleteVault(id: id)
    }

    // MARK: credentials

    /// `POST /v1/vaults/{id}/credentials`.
    public func createCredential(vaultID: String, _ body: ObjectReader) async throws -> VaultCredential {
        let now = Timestamp.now()
        let request = try CredentialCreateRequest(body, now: now)
        let credential = request.makeCredential(id: ResourceID.make(ResourceID.vaultCredential, at: now), vaultID: vaultID, now: now)
        try await store.createCredential(
            StoredCredential(credential: credential, sealedSecrets: try seal(request.secrets, for: credential.id)), limit: VaultCredential.maxPerVault)
        return credential
    }

    /// `GET /v1/vaults/{id}/credentials/{credential_id}`.
    public func credential(vaultID: String, id: String) async throws -> VaultCredential {
        try await stored(vaultID: vaultID, id: id).credential
    }

    /// `POST /v1/vaults/{id}/credentials/{credential_id}`.
    public func updateCredential(vaultID: String, id: String, _ request: CredentialUpdateRequest) async throws -> VaultCredential {
        let now = Timestamp.now()
        let sealer = sealer
        return try await store.updateCredential(vaultID: vaultID, id: id) { current in
            if current.credential.archivedAt != nil { throw APIError.archived("vault credential", id) }
            let secrets = try Self.open(current.sealedSecrets, for: id, sealer: sealer)
            let (credential, nextSecrets) = try request.applied(to: current.credential, secrets: secrets, now: now)
            let sealed = nextSecrets == secrets ? current.sealedSecrets : try sealer.seal(try JSONCoding.data(nextSecrets), context: id)
            return StoredCredential(credential: credential, sealedSecrets: sealed)
        }.credential
    }

    /// `GET /v1/vaults/{id}/credentials`.
    public func listCredentials(vaultID: String, includeArchived: Bool, page: PageRequest) async throws -> Page<VaultCredential> {
        try await store.listCredentials(vaultID: vaultID, includeArchived: includeArchived, page: page)
    }

    /// `POST /v1/vaults/{id}/credentials/{credential_id}/archive`.
    public func archiveCredential(vaultID: String, id: String) async throws -> VaultCredential {
        let now = Timestamp.now()
        return try await store.updateCredential(vaultID: vaultID, id: id) { current in
            guard current.credential.archivedAt == nil else { return current }
            var next = current
            next.credential.archivedAt = now
            next.credential.updatedAt = now
            return next
        }.credential
    }

    /// `DELETE /v1/vaults/{id}/credentials/{credential_id}`.
    public func deleteCredential(vaultID: String, id: String) async throws {
        try await store.deleteCredential(vaultID: vaultID, id: id)
    }

    /// `POST /v1/vaults/{id}/credentials/{credential_id}/mcp_oauth_validate`: probes the MCP
    /// server with the stored access token; on a 401/403 tries the refresh token, storing the
    /// refreshed token sealed. A failed refresh is announced as `vault_credential.refresh_failed`.
    public func validateCredential(vaultID: String, id: String) async throws -> CredentialValidation {
        let current = try await stored(vaultID: vaultID, id: id)
        guard case .mcpOAuth(let oauth) = current.credential.auth else {
            throw APIError.invalidRequest("credential '\(id)' is '\(current.credential.auth.type)'; only mcp_oauth credentials can be validated")
        }
        let secrets = try Self.open(current.sealedSecrets, for: id, sealer: sealer)
        let outcome = await prober.validate(oauth: oauth, secrets: secrets)
        if let refreshed = outcome.refreshed {
            try await storeRefreshed(refreshed, vaultID: vaultID, id: id)
        }
        if outcome.refreshFailed {
            try await store.appendOutboxEvents([OutboxEvent(type: "vault_credential.refresh_failed", resourceID: id, attributes: ["vault_id": vaultID])])
        }
        return CredentialValidation(
            credentialID: id, vaultID: vaultID, status: outcome.status, hasRefreshToken: secrets.refreshToken != nil, mcpProbe: outcome.probe,
            refresh: outcome.refresh, validatedAt: Timestamp.now())
    }

    /// Stores a refreshed access token (and a rotated refresh token) sealed.
    func storeRefreshed(_ token: OAuthTokenResponse, vaultID: String, id: String) async throws {
        let now = Timestamp.now()
        let sealer = sealer
        _ = try await store.updateCredential(vaultID: vaultID, id: id) { current in
            guard case .mcpOAuth(var oauth) = current.credential.auth else { return current }
            var secrets = try Self.open(current.sealedSecrets, for: id, sealer: sealer)
            secrets.accessToken = token.accessToken
            if let refreshToken = token.refreshToken { secrets.refreshToken = refreshToken }
            oauth.expiresAt = token.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }
            var next = current
            next.credential.auth = .mcpOAuth(oauth)
            next.credential.updatedAt = now
            next.sealedSecrets = try sealer.seal(try JSONCoding.data(secrets), context: id)
            return next
        }
    }

    // MARK: sealing

    func stored(vaultID: String, id: String) async throws -> StoredCredential {
        guard let stored = try await store.credential(vaultID: vaultID, id: id) else { throw APIError.notFound("vault credential", id) }
        return stored
    }

    func seal(_ secrets: CredentialSecrets, for id: String) throws -> String {
        try sealer.seal(try JSONCoding.data(secrets), context: id)
    }

    static func open(_ sealed: String, for id: String, sealer: SecretSealer) throws -> CredentialSecrets {
        try JSONCoding.decode(CredentialSecrets.self, from: try sealer.open(sealed, context: id))
    }
}
