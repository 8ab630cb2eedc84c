import Foundation
import Testing
@testable import ReverieCore
@testable import ReverieStore
@testable import ReverieRuntime

/// Vaults and credentials in both stores: slots, archive cascade, outbox events, re-sealing.
@Suite(.timeLimit(.minutes(3))) struct VaultStoreTests {
    static func credential(_ id: String, vault: String, url: String, at now: Date) -> VaultCredential {
        VaultCredential(id: id, vaultID: vault, displayName: nil, metadata: [:], auth: .staticBearer(mcpServerURL: url), createdAt: now, updatedAt: now)
    }

    @Test(arguments: StoreBackend.allCases) func credentialsKeepOneLiveSlotAndArchiveWithTheirVault(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let sealer = SecretSealer(keyring: try SecretKeyring(keys: [SecretKeyring.Key.generate()]))
        let now = Timestamp.now()
        try await store.createVault(Vault(id: "vlt_a", displayName: "A", metadata: [:], createdAt: now, updatedAt: now))
        let first = Self.credential("vcrd_1", vault: "vlt_a", url: "https://mcp.example.com/a", at: now)
        let sealed = try sealer.seal(try JSONCoding.data(CredentialSecrets(token: "t1")), context: "vcrd_1")
        try await store.createCredential(StoredCredential(credential: first, sealedSecrets: sealed), limit: 2)
        // The same MCP server twice in one vault is a conflict; the sealed secrets come back unchanged.
        await #expect(throws: APIError.self) {
            try await store.createCredential(
                StoredCredential(credential: Self.credential("vcrd_2", vault: "vlt_a", url: "https://mcp.example.com/a", at: now), sealedSecrets: sealed),
                limit: 2)
        }
        #expect(try await store.credential(vaultID: "vlt_a", id: "vcrd_1")?.sealedSecrets == sealed)
        #expect(try await store.credential(vaultID: "vlt_other", id: "vcrd_1") == nil)
        try await store.createCredential(
            StoredCredential(credential: Self.credential("vcrd_3", vault: "vlt_a", url: "https://mcp.example.com/b", at: now), sealedSecrets: sealed),
            limit: 2)
        await #expect(throws: APIError.self) {
            try await store.createCredential(
                StoredCredential(credential: Self.credential("vcrd_4", vault: "vlt_a", url: "https://mcp.example.com/c", at: now), sealedSecrets: sealed),
                limit: 2)
        }
        #expect(try await store.liveCredentials(vaultIDs: ["vlt_a", "vlt_missing"]).map(\.credential.id) == ["vcrd_1", "vcrd_3"])

        let archived = try await store.archiveVault(id: "vlt_a", at: now.addingTimeInterval(1))
        #expect(archived.archivedAt != nil)
        #expect(try await store.liveCredentials(vaultIDs: ["vlt_a"]).isEmpty)
        #expect(try await store.listCredentials(vaultID: "vlt_a", includeArchived: false, page: PageRequest(limit: 10)).items.isEmpty)
        #expect(try await store.listCredentials(vaultID: "vlt_a", includeArchived: true, page: PageRequest(limit: 10)).items.count == 2)
        await #expect(throws: APIError.self) {
            try await store.createCredential(
                StoredCredential(credential: Self.credential("vcrd_5", vault: "vlt_a", url: "https://mcp.example.com/d", at: now), sealedSecrets: sealed),
                limit: 9)
        }
        try await store.deleteVault(id: "vlt_a")
        #expect(try await store.credential(vaultID: "vlt_a", id: "vcrd_1") == nil)
        let types = try await store.pendingOutboxEvents(limit: 100).map(\.type)
        #expect(types.filter { $0 == "vault_credential.created" }.count == 2)
        #expect(types.filter { $0 == "vault_credential.archived" }.count == 2)
        #expect(types.filter { $0 == "vault_credential.deleted" }.count == 2)
        #expect(types.contains("vault.created") && types.contains("vault.archived") && types.contains("vault.deleted"))
        try await store.close()
    }

    /// Rotation re-seals webhook signing secrets and credential secrets in the store.
    @Test(arguments: StoreBackend.allCases) func storeResealsEveryStoredSecret(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let oldSealer = SecretSealer(keyring: try SecretKeyring(keys: [SecretKeyring.Key.generate()]))
        let now = Timestamp.now()
        let endpoint = WebhookEndpoint(id: "whep_1", url: "https://example.com/hook", enabledEvents: ["vault.created"], createdAt: now, updatedAt: now)
        let signing = WebhookSigningSecret.generate()
        try await store.createWebhookEndpoint(endpoint, sealedSecret: try oldSealer.seal(signing, endpointID: endpoint.id), limit: 10)
        try await store.createVault(Vault(id: "vlt_1", displayName: "v", metadata: [:], createdAt: now, updatedAt: now))
        let secrets = CredentialSecrets(token: "tok-secret")
        try await store.createCredential(
            StoredCredential(
                credential: Self.credential("vcrd_1", vault: "vlt_1", url: "https://mcp.example.com", at: now),
                sealedSecrets: try oldSealer.seal(try JSONCoding.data(secrets), context: "vcrd_1")), limit: 10)

        let newSealer = SecretSealer(keyring: try oldSealer.keyring.adding(SecretKeyring.Key.generate()))
        #expect(try await store.resealSecrets { id, sealed in try newSealer.reseal(sealed, context: id) } == 2)
        #expect(try await store.resealSecrets { id, sealed in try newSealer.reseal(sealed, context: id) } == 0)
        let retired = SecretSealer(keyring: newSealer.keyring.currentOnly)
        let stored = try #require(try await store.credential(vaultID: "vlt_1", id: "vcrd_1"))
        #expect(try VaultService.open(stored.sealedSecrets, for: "vcrd_1", sealer: retired) == secrets)
        let resolved = try await SessionCredentialResolver(store: store, sealer: retired).credentials(vaultIDs: ["vlt_1"])
        #expect(resolved.mcpServer(url: "https://MCP.example.com/")?.bearerToken == "tok-secret")
        // A failed re-seal changes nothing.
        await #expect(throws: (any Error).self) {
            try await store.resealSecrets { id, sealed in try oldSealer.reseal(sealed, context: id) }
        }
        #expect(try await store.credential(vaultID: "vlt_1", id: "vcrd_1")?.sealedSecrets == stored.sealedSecrets)
        try await store.close()
    }
}
