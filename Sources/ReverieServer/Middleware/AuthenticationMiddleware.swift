import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieStore
import Synchronization

/// Requires a valid credential in `x-api-key` or `Authorization: Bearer` on every request
/// except `GET /health` and the web console's `/console` paths (the console signs browsers in
/// with an API key itself and authenticates them by session cookie): an API key (`REVERIE_API_KEY` values or stored, hashed keys), an
/// environment key, or a work item's sessions token; the last two only within their scope
/// (`CredentialScope`). An unknown or revoked secret is a 401 that says nothing more.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = ReverieRequestContext
    let verifier: APIKeyVerifier
    let workerCredentials: WorkerCredentials
    let scope: CredentialScope

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == "/health" { return try await next(request, context) }
        if path == "/console" || path.hasPrefix("/console/"), !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) {
            return try await next(request, context)
        }
        var secret = request.headers[.apiKey]
        if secret == nil, let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { secret = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        guard let secret, !secret.isEmpty else {
            throw APIError(.authentication, "missing API key: send it in the x-api-key header or as Authorization: Bearer <key>")
        }
        let credential: Credential
        if let keyID = try await verifier.verify(secret) {
            credential = .apiKey(id: keyID)
        } else if let scoped = try await workerCredentials.verify(secret) {
            credential = scoped
            try await scope.authorize(scoped, method: request.method, path: request.uri.path)
        } else {
            throw APIError(.authentication, "invalid API key")
        }
        var context = context
        if case .apiKey(let keyID) = credential { context.apiKeyID = keyID }
        context.credential = credential
        return try await next(request, context)
    }
}

/// Checks API key secrets: constant-time against configured keys, by hash against stored
/// keys. Verified stored keys are cached briefly so revocation takes effect within seconds.
final class APIKeyVerifier: Sendable {
    private let staticKeyHashes: [(hash: SHA256.Digest, id: String)]
    private let store: any APIKeyStore
    private let cache = Mutex<[String: (id: String, expires: ContinuousClock.Instant)]>([:])
    private let cacheLifetime: Duration

    init(staticKeys: [String], store: any APIKeyStore, cacheLifetime: Duration = .seconds(5)) {
        self.staticKeyHashes = staticKeys.enumerated().map { index, key in
            (SHA256.hash(data: Data(key.utf8)), index == 0 ? "apikey_static" : "apikey_static_\(index)")
        }
        self.store = store
        self.cacheLifetime = cacheLifetime
    }

    /// The id of the key `secret` belongs to, or nil.
    func verify(_ secret: String) async throws -> String? {
        let digest = SHA256.hash(data: Data(secret.utf8))
        for (hash, id) in staticKeyHashes where hash == digest { return id }  // Digest equality is constant-time.
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[hex] }), cached.expires > now { return cached.id }
        guard let record = try await store.apiKey(hash: hex) else { return nil }
        cache.withLock { $0[hex] = (record.id, now.advanced(by: cacheLifetime)) }
        return record.id
    }
}
