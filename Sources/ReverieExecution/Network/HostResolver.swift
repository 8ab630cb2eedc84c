import ReverieCore

/// Resolves host names to addresses, so a destination can be checked against an address policy before
/// anything connects to it (webhook receivers, the egress proxy's destinations).
public protocol HostResolver: Sendable {
    /// Every address `host` resolves to; empty when it does not resolve.
    func addresses(of host: String) async -> [NetworkAddress]
}
