import ReverieCore
import ReverieExecution

/// Where a session's `environment_variable` credentials come from when its sandbox starts: the
/// secrets its egress proxy substitutes for placeholders on the credentials' hosts. The vaults
/// attached to the session back it; a throw keeps the sandbox from starting (fail closed).
public protocol SessionEgressCredentialSource: Sendable {
    /// The credentials for `session`, each with a fresh placeholder
    /// (`EgressCredential.init(name:secret:hosts:injection:)` makes one).
    func credentials(for session: Session) async throws -> [EgressCredential]
}

/// No credentials for any session (hosts without vaults; the server uses `VaultEgressCredentials`).
public struct NoEgressCredentials: SessionEgressCredentialSource {
    public init() {}
    public func credentials(for session: Session) async throws -> [EgressCredential] { [] }
}
