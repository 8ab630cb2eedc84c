import Foundation
import ReverieCore

/// What one session's sandbox may reach over the network through the egress proxy.
///
/// Two rules apply, and a destination must pass both:
/// - the host rule (`mode`): which host names (or IP literals) may be named at all;
/// - the address rule: every address the host resolves to must be public. Loopback, private
///   (10/8, 172.16/12, 192.168/16, 100.64/10 CGNAT, fc00::/7), link-local (169.254/16 with the
///   cloud metadata address, fe80::/10) and unusable addresses (unspecified, multicast, reserved) are
///   refused, except that addresses in `allowedNetworks` are admitted. Unusable addresses (0.0.0.0,
///   multicast, …) are refused even there.
public struct EgressPolicy: Sendable, Hashable {
    /// Which host names a session may name.
    public enum Mode: Sendable, Hashable {
        /// No outbound connection at all.
        case none
        /// Any host, as long as its addresses pass the address rule.
        case unrestricted
        /// Only the listed hosts: exact names (case-insensitive, a trailing dot ignored), `*.example.com`
        /// for any subdomain of `example.com` (not `example.com` itself), and IP literals listed exactly.
        case limited(allowedHosts: [String])
    }

    /// The host rule.
    public let mode: Mode
    /// CIDR blocks (or bare addresses) the operator admits despite the address rule, e.g. an intranet
    /// registry. Entries that do not parse admit nothing; see `malformedNetworks`.
    public let allowedNetworks: [String]
    private let networks: [CIDRRange]

    /// A policy with the given host rule and operator-admitted networks (none by default).
    public init(mode: Mode, allowedNetworks: [String] = []) {
        self.mode = mode
        self.allowedNetworks = allowedNetworks
        self.networks = allowedNetworks.compactMap { CIDRRange($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// The entries of `allowedNetworks` that are not CIDR blocks or addresses, for configuration checks.
    public var malformedNetworks: [String] {
        allowedNetworks.filter { CIDRRange($0.trimmingCharacters(in: .whitespaces)) == nil }
    }

    /// Why the host rule refuses `host`, or nil when the host may be named. `host` is a DNS name or an
    /// IP literal (IPv6 with or without brackets).
    public func hostRefusal(for host: String) -> EgressDenial? {
        switch mode {
        case .none:
            return .noNetworkAccess
        case .unrestricted:
            return nil
        case .limited(let allowedHosts):
            return allowedHosts.contains { Self.pattern($0, matches: host) } ? nil : .hostNotAllowed(host: host)
        }
    }

    /// Why the address rule refuses `address`, or nil when it may be connected to.
    public func addressRefusal(for address: NetworkAddress, host: String) -> EgressDenial? {
        let scope = address.scope
        switch scope {
        case .public:
            return nil
        case .unusable:
            return .addressNotPublic(host: host, address: address, scope: scope)
        case .loopback, .private, .linkLocal, .uniqueLocal:
            if networks.contains(where: { $0.contains(address) }) { return nil }
            return .addressNotPublic(host: host, address: address, scope: scope)
        }
    }

    /// Whether an `allowed_hosts` entry matches `host`.
    static func pattern(_ rawPattern: String, matches rawHost: String) -> Bool {
        let pattern = normalized(rawPattern)
        let host = normalized(rawHost)
        guard !pattern.isEmpty, !host.isEmpty else { return false }
        if let hostAddress = NetworkAddress(host) {
            // An IP literal matches only the same address listed exactly; never a wildcard.
            return NetworkAddress(pattern) == hostAddress
        }
        if pattern.hasPrefix("*.") {
            let suffix = pattern.dropFirst(1)  // ".example.com"
            return suffix.count > 1 && host.hasSuffix(suffix) && host.count > suffix.count
        }
        return pattern == host
    }

    private static func normalized(_ text: String) -> String {
        var value = text.trimmingCharacters(in: .whitespaces).lowercased()
        if value.hasPrefix("["), value.hasSuffix("]") { value = String(value.dropFirst().dropLast()) }
        if value.hasSuffix("."), value.count > 1 { value.removeLast() }
        return value
    }
}
