import Foundation
import ReverieCore
import ReverieRuntime
import Synchronization

/// Checks the credentials workers hold: environment keys (cached briefly, like API keys, so a
/// revocation takes effect within the cache lifetime) and work items' sessions tokens (never
/// cached: a token stops working the moment its item stops or is handed to another worker).
final class WorkerCredentials: Sendable {
    private let environments: EnvironmentService
    private let work: WorkQueue
    /// By the SHA-256 of the secret.
    private let cache = Mutex<[String: (credential: Credential, expires: ContinuousClock.Instant)]>([:])
    private let cacheLifetime: Duration

    init(environments: EnvironmentService, work: WorkQueue, cacheLifetime: Duration) {
        self.environments = environments
        self.work = work
        self.cacheLifetime = cacheLifetime
    }

    /// The credential `secret` is, or nil.
    func verify(_ secret: String) async throws -> Credential? {
        if secret.hasPrefix("rvwt_") {
            guard let item = try await work.item(sessionsToken: secret) else { return nil }
            return .workItem(id: item.id, environmentID: item.environmentID, sessionID: item.sessionID)
        }
        guard secret.hasPrefix("rvek_") else { return nil }
        let now = ContinuousClock.now
        let hash = APIKeyRecord.hash(secret)
        if let cached = cache.withLock({ $0[hash] }), cached.expires > now { return cached.credential }
        guard let key = try await environments.key(secret: secret) else { return nil }
        let credential = Credential.environmentKey(id: key.id, environmentID: key.environmentID)
        cache.withLock { $0[hash] = (credential, now.advanced(by: cacheLifetime)) }
        return credential
    }
}
