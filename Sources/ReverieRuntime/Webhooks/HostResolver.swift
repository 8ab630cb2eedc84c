import Dispatch
import Foundation
import ReverieCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves host names to addresses, so receiver URLs can be checked against the address policy.
public protocol HostResolver: Sendable {
    /// Every address `host` resolves to; empty when it does not resolve.
    func addresses(of host: String) async -> [NetworkAddress]
}

/// The system resolver (`getaddrinfo`), run off the cooperative thread pool.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func addresses(of host: String) async -> [NetworkAddress] {
        if let literal = NetworkAddress(host) { return [literal] }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.lookUp(host))
            }
        }
    }

    private static func lookUp(_ host: String) -> [NetworkAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [NetworkAddress] = []
        var cursor = result
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                switch Int32(info.pointee.ai_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin_addr
                        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                        if let value = NetworkAddress(bytes: bytes) { addresses.append(value) }
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin6_addr
                        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                        if let value = NetworkAddress(bytes: bytes) { addresses.append(value) }
                    }
                default: break
                }
            }
            cursor = info.pointee.ai_next
        }
        var seen = Set<NetworkAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

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
        /// Acceptable; `addresses` are what the host resolved to (empty when it did not resolve).
        case allowed(host: String, addresses: [NetworkAddress])
        case refused(String)
    }

    /// Resolves the URL's host and refuses it when any address it resolves to is not allowed
    /// (one bad address is enough: the connection could go to any of them).
    public func check(_ url: String) async -> Verdict {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty else {
            return .refused("not a valid absolute URL")
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if !policy.allowPrivateNetworks, components.scheme?.lowercased() != "https" {
            return .refused("plain http is refused unless the server runs with --webhooks-allow-private")
        }
        let lowered = bare.lowercased()
        if !policy.allowPrivateNetworks, lowered == "localhost" || lowered.hasSuffix(".localhost") {
            return .refused("'\(bare)' is a loopback name; receivers on private networks are refused unless the server runs with --webhooks-allow-private")
        }
        let literal = NetworkAddress(bare)
        let addresses = if let literal { [literal] } else { await resolver.addresses(of: bare) }
        for address in addresses {
            guard let reason = policy.refusal(for: address) else { continue }
            return .refused(literal != nil ? "\(address) is \(reason)" : "'\(bare)' resolves to \(address), \(reason)")
        }
        return .allowed(host: bare, addresses: addresses)
    }
}
