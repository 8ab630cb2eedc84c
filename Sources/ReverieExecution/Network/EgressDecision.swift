import ReverieCore

/// The egress proxy's verdict on one destination.
public enum EgressDecision: Sendable, Hashable {
    /// The destination may be reached; connect only to these addresses (already checked, in the
    /// resolver's order), never to a fresh resolution of the host.
    case allowed(addresses: [NetworkAddress])
    /// The destination is refused.
    case denied(EgressDenial)
}
