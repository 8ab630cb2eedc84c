import ReverieCore

/// Why the egress proxy refuses a destination.
public enum EgressDenial: Sendable, Hashable, CustomStringConvertible {
    /// The session's policy allows no network access.
    case noNetworkAccess
    /// The policy is limited and the host matches no `allowed_hosts` entry.
    case hostNotAllowed(host: String)
    /// The host is, or resolves to, an address that is not public and not in `allowed_networks`.
    case addressNotPublic(host: String, address: NetworkAddress, scope: NetworkAddress.Scope)
    /// The host name does not resolve.
    case doesNotResolve(host: String)

    /// A short phrase for the log and the 403 body.
    public var description: String {
        switch self {
        case .noNetworkAccess:
            return "the environment allows no network access"
        case .hostNotAllowed(let host):
            return "host '\(host)' is not in allowed_hosts"
        case .addressNotPublic(let host, let address, let scope):
            let kind = scope == .unusable ? "not a public unicast address" : "a \(scope.rawValue) address"
            if NetworkAddress(host) == address { return "\(address) is \(kind)" }
            return "host '\(host)' resolves to \(address), \(kind)"
        case .doesNotResolve(let host):
            return "host '\(host)' does not resolve"
        }
    }
}
