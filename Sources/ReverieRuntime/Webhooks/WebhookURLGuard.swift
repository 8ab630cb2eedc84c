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

    /// Where a request for an allowed URL is sent.
    public struct Destination: Sendable, Equatable {
        /// The URL to request: for plain http, with the checked address in place of the name.
        public var url: String
        /// The `Host` header to send when `url` names an address instead of the host.
        public var hostHeader: String?
    }

    /// The result of `pin`.
    public enum Pinned: Sendable, Equatable {
        case allowed(Destination)
        case refused(String)
    }

    /// Checks `url` (`check`) and says where to send the request, so that a second DNS answer
    /// cannot send it somewhere the check did not allow (see `destination`).
    public func pin(_ url: String) async -> Pinned {
        switch await check(url) {
        case .refused(let reason): return .refused(reason)
        case .allowed(let host, let addresses):
            guard let destination = Self.destination(url: url, host: host, addresses: addresses) else { return .refused("not a valid absolute URL") }
            return .allowed(destination)
        }
    }

    /// Where to connect. Plain-http URLs go to the address that was checked (with the
    /// original `Host` header), so a second DNS answer cannot redirect the request; https
    /// URLs keep the name, which the peer's certificate must match.
    public static func destination(url: String, host: String, addresses: [NetworkAddress]) -> Destination? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return nil }
        guard scheme == "http", NetworkAddress(host) == nil, let address = addresses.first else { return Destination(url: url, hostHeader: nil) }
        let port = components.port.map { ":\($0)" } ?? ""
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let query = components.percentEncodedQuery.map { "?\($0)" } ?? ""
        return Destination(url: "http://\(address.urlHost)\(port)\(path)\(query)", hostHeader: host + port)
    }
}
