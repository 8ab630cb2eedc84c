import Foundation

/// An IPv4 or IPv6 address and the kind of network it belongs to, for deciding whether
/// webhooks may be sent to it or a sandbox's egress may connect to it.
public struct NetworkAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]

    /// Where an address points.
    public enum Scope: String, Sendable {
        case `public`
        case loopback
        /// RFC 1918 and carrier-grade NAT (100.64/10), benchmarking (198.18/15), IPv6 site-local.
        case `private`
        /// 169.254/16 (including cloud metadata services) and fe80::/10.
        case linkLocal = "link-local"
        /// fc00::/7.
        case uniqueLocal = "unique-local"
        /// 0.0.0.0/8, ::, multicast, broadcast, documentation (192.0.2/24, 198.51.100/24, 203.0.113/24,
        /// 2001:db8::/32), discard-only (100::/64) and reserved ranges: never a webhook receiver.
        case unusable

        /// Whether sending here needs the server's explicit permission for private networks.
        public var isPrivate: Bool { self == .loopback || self == .private || self == .linkLocal || self == .uniqueLocal }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a dotted-quad IPv4 address or an IPv6 address (brackets allowed).
    public init?(_ text: String) {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let v4 = Self.parseIPv4(text) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }

    public var scope: Scope {
        isIPv4 ? Self.scope(ipv4: bytes) : Self.scope(ipv6: bytes)
    }

    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        // Compress the longest run of zero groups.
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == "0" {
                var end = index
                while end < 8, groups[end] == "0" { end += 1 }
                if end - index > bestLength { (bestStart, bestLength) = (index, end - index) }
                index = end
            } else {
                index += 1
            }
        }
        guard bestLength >= 2 else { return groups.joined(separator: ":") }
        let head = groups[..<bestStart].joined(separator: ":")
        let tail = groups[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    /// The form to put in a URL's host (`[…]` around IPv6).
    public var urlHost: String { isIPv4 ? description : "[\(description)]" }

    private static func scope(ipv4 b: [UInt8]) -> Scope {
        switch (b[0], b[1]) {
        case (0, _): return .unusable
        case (127, _): return .loopback
        case (10, _): return .private
        case (172, 16...31): return .private
        case (192, 168): return .private
        case (100, 64...127): return .private
        case (198, 18...19): return .private
        case (169, 254): return .linkLocal
        case (192, 0) where b[2] == 0: return .unusable
        case (192, 0) where b[2] == 2, (198, 51) where b[2] == 100, (203, 0) where b[2] == 113: return .unusable  // documentation
        case (224..., _): return .unusable
        default: return .public
        }
    }

    private static func scope(ipv6 b: [UInt8]) -> Scope {
        let zeroPrefix = b[0..<10].allSatisfy { $0 == 0 }
        if zeroPrefix, b[10] == 0xff, b[11] == 0xff { return scope(ipv4: Array(b[12..<16])) }  // ::ffff:a.b.c.d
        if b[0..<12].allSatisfy({ $0 == 0 }) {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 1 { return .loopback }  // ::1
                if b[15] == 0 { return .unusable }  // ::
            }
            return scope(ipv4: Array(b[12..<16]))  // deprecated IPv4-compatible
        }
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xff, b[3] == 0x9b, b[4..<12].allSatisfy({ $0 == 0 }) {
            return scope(ipv4: Array(b[12..<16]))  // 64:ff9b::/96 NAT64
        }
        if b[0] == 0xff { return .unusable }
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x0d, b[3] == 0xb8 { return .unusable }  // 2001:db8::/32 documentation
        if b[0] == 0x01, b[1..<8].allSatisfy({ $0 == 0 }) { return .unusable }  // 100::/64 discard-only
        if b[0] & 0xfe == 0xfc { return .uniqueLocal }
        if b[0] == 0xfe, b[1] & 0xc0 == 0x80 { return .linkLocal }
        if b[0] == 0xfe, b[1] & 0xc0 == 0xc0 { return .private }  // deprecated site-local
        if b[0] == 0x20, b[1] == 0x02 { return scope(ipv4: Array(b[2..<6])) }  // 6to4 embeds an IPv4 address
        return .public
    }

    private static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part), part.allSatisfy(\.isNumber) else {
                return nil
            }
            bytes.append(value)
        }
        return bytes
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), !text.contains("%") else { return nil }
        var text = Substring(text)
        var tailV4: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseIPv4(String(text[text.index(after: lastColon)...])) else { return nil }
            tailV4 = v4
            text = text[...lastColon]
            if text.hasSuffix("::") == false { text = text.dropLast() }
        }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        let needed = 8 - tailV4.count / 2
        var values: [UInt16]
        if let range = text.range(of: "::") {
            guard let head = groups(text[..<range.lowerBound]), let tail = groups(text[range.upperBound...]),
                head.count + tail.count < needed, !text[range.upperBound...].contains("::")
            else { return nil }
            values = head + [UInt16](repeating: 0, count: needed - head.count - tail.count) + tail
        } else {
            guard let all = groups(text), all.count == needed else { return nil }
            values = all
        }
        var bytes: [UInt8] = []
        for value in values { bytes += [UInt8(value >> 8), UInt8(value & 0xff)] }
        return bytes + tailV4
    }
}

/// Which receiver addresses a server accepts.
public struct WebhookAddressPolicy: Sendable, Equatable {
    /// Admit loopback, private, link-local and unique-local receivers (and plain `http://`).
    public var allowPrivateNetworks: Bool

    public init(allowPrivateNetworks: Bool = false) {
        self.allowPrivateNetworks = allowPrivateNetworks
    }

    /// Why `address` is refused (a phrase like "a loopback address; …"), or nil when it is acceptable.
    public func refusal(for address: NetworkAddress) -> String? {
        let scope = address.scope
        switch scope {
        case .public: return nil
        case .unusable: return "not a unicast address a receiver can listen on"
        default:
            if allowPrivateNetworks { return nil }
            return "a \(scope.rawValue) address; receivers on private networks are refused unless the server runs with --webhooks-allow-private"
        }
    }
}
