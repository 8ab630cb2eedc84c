import ReverieCore

/// What a session's egress proxy works with besides the network policy: the session's
/// `environment_variable` credentials (read when its sandbox starts, and again by the proxy every
/// few seconds, so that rotations and revocations take effect), how HTTPS to their hosts is
/// opened up, and how destination names are resolved.
public struct SandboxNetwork: Sendable {
    /// The session's credentials (none by default). A throw keeps the sandbox from starting.
    public var credentials: @Sendable () async throws -> [EgressCredential]
    /// The installation's CA and upstream trust; nil leaves HTTPS to every host a splice.
    public var interception: EgressInterception?
    /// Resolves destination names (the system's resolver; tests map names to loopback).
    public var resolver: any HostResolver

    public init(
        credentials: @escaping @Sendable () async throws -> [EgressCredential] = { [] }, interception: EgressInterception? = nil,
        resolver: any HostResolver = SystemHostResolver()
    ) {
        self.credentials = credentials
        self.interception = interception
        self.resolver = resolver
    }
}
