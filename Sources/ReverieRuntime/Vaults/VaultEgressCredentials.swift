import ReverieCore
import ReverieExecution

/// The sessions' `environment_variable` credentials from their vaults, for the egress proxy:
/// each secret with a fresh placeholder, on its `allowed_hosts` (or any host the environment's
/// network policy allows), injected where its `injection_location` says.
public struct VaultEgressCredentials: SessionEgressCredentialSource {
    let resolver: SessionCredentialResolver

    public init(resolver: SessionCredentialResolver) {
        self.resolver = resolver
    }

    public func credentials(for session: Session) async throws -> [EgressCredential] {
        try await resolver.credentials(for: session).environmentSecrets.map(Self.egressCredential)
    }

    static func egressCredential(_ secret: SessionCredentials.EnvironmentSecret) -> EgressCredential {
        EgressCredential(
            name: secret.name, secret: secret.value, hosts: secret.allowedHosts.map { .limited($0) } ?? .unrestricted,
            injection: EgressCredential.Injection(header: secret.injectHeader, body: secret.injectBody))
    }
}
