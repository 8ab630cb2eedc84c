import Foundation
import ReverieCore
import ReverieStore

/// Opens a session's vault credentials for use (MCP connections, the egress proxy): the live
/// credentials of its live vaults, in `vault_ids` order. The result lives in memory only.
public struct SessionCredentialResolver: Sendable {
    let store: any VaultStore
    let sealer: SecretSealer

    public init(store: any VaultStore, sealer: SecretSealer) {
        self.store = store
        self.sealer = sealer
    }

    /// The credentials of the vaults `vaultIDs` (a session's `vault_ids`). A credential whose
    /// secrets cannot be opened (a replaced keyring) is left out rather than failing the session.
    public func credentials(vaultIDs: [String]) async throws -> SessionCredentials {
        var result = SessionCredentials()
        guard !vaultIDs.isEmpty else { return result }
        for stored in try await store.liveCredentials(vaultIDs: vaultIDs) {
            let credential = stored.credential
            guard let secrets = try? VaultService.open(stored.sealedSecrets, for: credential.id, sealer: sealer) else { continue }
            switch credential.auth {
            case .staticBearer(let url):
                result.mcpServers.append(
                    SessionCredentials.MCPServer(credentialID: credential.id, vaultID: credential.vaultID, mcpServerURL: url, bearerToken: secrets.token))
            case .mcpOAuth(let oauth):
                result.mcpServers.append(
                    SessionCredentials.MCPServer(
                        credentialID: credential.id, vaultID: credential.vaultID, mcpServerURL: oauth.mcpServerURL, bearerToken: secrets.accessToken,
                        expiresAt: oauth.expiresAt, refresh: oauth.refresh, refreshToken: secrets.refreshToken, clientSecret: secrets.clientSecret))
            case .environmentVariable(let variable):
                guard let value = secrets.secretValue else { continue }
                result.environmentSecrets.append(
                    SessionCredentials.EnvironmentSecret(
                        credentialID: credential.id, name: variable.secretName, value: value, allowedHosts: variable.allowedHosts,
                        injectHeader: variable.injectHeader, injectBody: variable.injectBody))
            }
        }
        return result
    }

    /// A session's credentials.
    public func credentials(for session: Session) async throws -> SessionCredentials {
        try await credentials(vaultIDs: session.vaultIDs)
    }
}
