import ReverieCore

/// Applies an `EgressPolicy` to a host: the host rule first, then one resolution whose every
/// address must pass the address rule. The checked addresses are the only ones a caller may connect
/// to, which defeats DNS rebinding (a second lookup could answer differently).
public struct EgressAuthorizer: Sendable {
    /// The policy applied.
    public let policy: EgressPolicy
    /// Resolves host names (IP literals are never sent to it).
    public let resolver: any HostResolver

    /// An authorizer for `policy` resolving names with `resolver`.
    public init(policy: EgressPolicy, resolver: any HostResolver = SystemHostResolver()) {
        self.policy = policy
        self.resolver = resolver
    }

    /// Decides whether `host` may be reached. One refused address refuses the host: a client could
    /// otherwise steer the connection to it.
    public func authorize(host: String) async -> EgressDecision {
        if let refusal = policy.hostRefusal(for: host) { return .denied(refusal) }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses: [NetworkAddress]
        if let literal = NetworkAddress(bare) {
            addresses = [literal]
        } else {
            addresses = await resolver.addresses(of: bare)
        }
        guard !addresses.isEmpty else { return .denied(.doesNotResolve(host: bare)) }
        for address in addresses {
            if let refusal = policy.addressRefusal(for: address, host: bare) { return .denied(refusal) }
        }
        return .allowed(addresses: addresses)
    }
}
