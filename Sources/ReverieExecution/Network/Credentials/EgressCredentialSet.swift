/// A session's credentials as its egress proxy substitutes them. The names and placeholders
/// are fixed when the sandbox starts (each placeholder is in the sandbox's environment); the
/// secrets, hosts and injection are re-read from `source` at most every `refreshInterval`, so a
/// rotated secret is used and an archived or deleted credential stops being substituted while
/// the sandbox runs. A name the sandbox was not started with waits for its next start. A source
/// that cannot be read fails closed: nothing is substituted until it can be read again.
public actor EgressCredentialSet {
    private let placeholders: [String: String]
    private var credentials: [EgressCredential]
    private let source: (@Sendable () async throws -> [EgressCredential])?
    private let refreshInterval: Duration
    private var refreshed = ContinuousClock.now
    private var refreshing: Task<[EgressCredential], Never>?

    /// `credentials` as the sandbox was started with them; `source` (nil: they never change)
    /// gives the session's credentials now.
    public init(
        _ credentials: [EgressCredential], source: (@Sendable () async throws -> [EgressCredential])? = nil, refreshInterval: Duration = .seconds(5)
    ) {
        self.credentials = credentials
        self.placeholders = Dictionary(credentials.map { ($0.name, $0.placeholder) }, uniquingKeysWith: { first, _ in first })
        self.source = source
        self.refreshInterval = refreshInterval
    }

    /// The credentials to substitute now.
    public func current() async -> [EgressCredential] {
        guard let source, ContinuousClock.now - refreshed >= refreshInterval else { return credentials }
        if let refreshing { return await refreshing.value }
        let placeholders = self.placeholders
        let task = Task { () -> [EgressCredential] in
            guard let fresh = try? await source() else { return [] }
            var seen: Set<String> = []
            return fresh.compactMap { credential in
                guard let placeholder = placeholders[credential.name], seen.insert(credential.name).inserted else { return nil }
                return EgressCredential(
                    name: credential.name, secret: credential.secret, hosts: credential.hosts, injection: credential.injection, placeholder: placeholder)
            }
        }
        refreshing = task
        let next = await task.value
        credentials = next
        refreshed = ContinuousClock.now
        refreshing = nil
        return next
    }
}
