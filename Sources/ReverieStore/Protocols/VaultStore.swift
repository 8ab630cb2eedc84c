import Foundation
import ReverieCore

/// A credential as stored: its public configuration and its secrets, sealed.
public struct StoredCredential: Sendable, Equatable {
    public var credential: VaultCredential
    /// `CredentialSecrets` as JSON, sealed by `SecretSealer` for the credential's id.
    public var sealedSecrets: String

    public init(credential: VaultCredential, sealedSecrets: String) {
        self.credential = credential
        self.sealedSecrets = sealedSecrets
    }
}

/// Vaults and their credentials. Credential secrets are only ever handed in and out sealed.
public protocol VaultStore: Sendable {
    func createVault(_ vault: Vault) async throws
    func vault(id: String) async throws -> Vault?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing.
    func updateVault(id: String, _ change: @Sendable (Vault) throws -> Vault) async throws -> Vault
    /// Archives a vault and its live credentials (no-op when already archived).
    func archiveVault(id: String, at date: Date) async throws -> Vault
    func listVaults(includeArchived: Bool, page: PageRequest) async throws -> Page<Vault>
    /// Deletes a vault with its credentials.
    func deleteVault(id: String) async throws

    /// Inserts a credential into a live vault; refused (conflict) when a live credential of the
    /// vault has the same `slot` or the vault holds `limit` live credentials.
    func createCredential(_ credential: StoredCredential, limit: Int) async throws
    func credential(vaultID: String, id: String) async throws -> StoredCredential?
    /// Atomic read-modify-write of a credential and its sealed secrets; `APIError.notFound` when missing.
    func updateCredential(vaultID: String, id: String, _ change: @Sendable (StoredCredential) throws -> StoredCredential) async throws
        -> StoredCredential
    func listCredentials(vaultID: String, includeArchived: Bool, page: PageRequest) async throws -> Page<VaultCredential>
    func deleteCredential(vaultID: String, id: String) async throws
    /// The live credentials of the live vaults among `vaultIDs`, in `vaultIDs` order, then by creation.
    func liveCredentials(vaultIDs: [String]) async throws -> [StoredCredential]
}

/// Re-sealing every stored secret (key rotation).
public protocol SecretResealingStore: Sendable {
    /// Passes each stored sealed secret (webhook signing secrets, credential secrets) with the id
    /// it is sealed for to `reseal`, and stores what it returns, all in one transaction.
    /// Returns how many values changed.
    func resealSecrets(_ reseal: @Sendable (_ id: String, _ sealed: String) throws -> String) async throws -> Int
}
