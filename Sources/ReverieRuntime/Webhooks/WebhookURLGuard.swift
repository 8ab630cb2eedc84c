import Foundation
import ReverieCore
import ReverieExecution

/// The address policy applied to a receiver URL.
public struct WebhookURLGuard: Sendable {
    public let policy: WebhookAddressPolicy
    public let resolver: any HostResolver

    public init(policy: WebhookAddressPolicy, resolver: any HostResolver = SystemHostResolver()) {
        self.policy = policy
        self.resolver = resolver
    }

    /// The outcome of checking a URL.
    public enum Verdict: Sendable, Equatable {
        /// Acceptable; `addresses` are what the host resolved to (never empty).
        case allowed(host: String, addresses: [NetworkAddress])
        case refused(String)
    }

    /// Resolves the URL's host and refuses it when it does not resolve, or when any address it
    /// resolves to is not allowed (one bad address is enough: the connection could go to any
    /// of them). A trailing dot (`localhost.`) names the same host.
    public func check(_ url: String) async -> Verdict {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            return .refused("not a valid absolute URL")
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if !policy.allowPrivateNetworks, components.scheme?.lowercased() != "https" {
            return .refused("plain http is refused unless the server runs with --webhooks-allow-private")
        }
        var lowered = bare.lowercased()
        while lowered.hasSuffix("."), lowered.count > 1 { lowered.removeLast() }
        if !policy.allowPrivateNetworks, lowered == "localhost" || lowered.hasSuffix(".localhost") {
            return .refused("'\(bare)' is a loopback name; receivers on private networks are refused unless the server runs with --webhooks-allow-private")
        }
        let literal = NetworkAddress(bare)
        let addresses = if let literal { [literal] } else { await resolver.addresses(of: bare) }
        guard !addresses.isEmpty else { return .refused("'\(bare)' does not resolve to any address") }
        for address in addresses {
            guard let reason = policy.refusal(for: address) else { continue }
            return .refused(literal != nil ? "\(address) is \(reason)" : "'\(bare)' resolves to \(address), \(reason)")
        }
        return .allowed(host: bare, addresses: addresses)
    }
}
