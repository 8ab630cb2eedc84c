import Crypto
import Foundation
import Synchronization

/// A signed-in browser: who it signed in as and the token its forms must carry.
struct ConsoleSession: Sendable {
    let id: String
    /// The API key the browser signed in with, kept server-side only so every request re-checks
    /// it (a revoked key ends the console session within the verifier's cache lifetime).
    let apiKey: String
    /// The id of that key (`apikey_…` or `apikey_static`): the actor of the console's writes.
    let apiKeyID: String
    /// The per-session CSRF token every state-changing request must echo.
    let csrfToken: String
    var expires: ContinuousClock.Instant
}

/// Console sign-ins, held in memory (a server restart signs everyone out). Ids and tokens are
/// 256-bit random values; expired entries are dropped as they are met and on each sign-in.
final class ConsoleSessionStore: Sendable {
    private let sessions = Mutex<[String: ConsoleSession]>([:])
    let ttl: Duration

    init(ttl: Duration) {
        self.ttl = ttl
    }

    func create(apiKey: String, apiKeyID: String) -> ConsoleSession {
        let now = ContinuousClock.now
        let session = ConsoleSession(id: Self.randomToken(), apiKey: apiKey, apiKeyID: apiKeyID, csrfToken: Self.randomToken(), expires: now + ttl)
        sessions.withLock { all in
            all = all.filter { $0.value.expires > now }
            all[session.id] = session
        }
        return session
    }

    /// The live session with this id, its expiry pushed forward.
    func session(id: String) -> ConsoleSession? {
        let now = ContinuousClock.now
        return sessions.withLock { all in
            guard var session = all[id] else { return nil }
            guard session.expires > now else {
                all[id] = nil
                return nil
            }
            session.expires = now + ttl
            all[id] = session
            return session
        }
    }

    func remove(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    static func randomToken() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Compares two secrets in time independent of where they differ.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
