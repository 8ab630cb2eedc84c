import ReverieCore

/// A block of addresses written in CIDR notation (`10.20.0.0/16`, `fd00:1::/64`, or a bare address
/// meaning just that address), for the networks an operator admits despite the public-address rule.
public struct CIDRRange: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the block (host bits cleared).
    public let network: NetworkAddress
    /// How many leading bits every address in the block shares with `network`.
    public let prefixLength: Int

    /// Parses `address/prefix` or a bare address; nil when either part is malformed or the prefix is
    /// longer than the address.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = NetworkAddress(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber),
                let value = Int(parts[1]), value <= bits
            else { return nil }
            length = value
        }
        guard let network = NetworkAddress(bytes: Self.masked(address.bytes, prefixLength: length)) else { return nil }
        self.network = network
        self.prefixLength = length
    }

    public var description: String { "\(network)/\(prefixLength)" }

    /// Whether `address` lies in the block. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as
    /// its IPv4 address, so a connection cannot slip out of (or into) a block by changing notation.
    public func contains(_ address: NetworkAddress) -> Bool {
        let candidate = Self.unmapped(address)
        guard candidate.bytes.count == network.bytes.count else { return false }
        return Self.masked(candidate.bytes, prefixLength: prefixLength) == network.bytes
    }

    private static func unmapped(_ address: NetworkAddress) -> NetworkAddress {
        let bytes = address.bytes
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff,
            let v4 = NetworkAddress(bytes: Array(bytes[12..<16]))
        else { return address }
        return v4
    }

    private static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var result = bytes
        for index in result.indices {
            let bitsHere = max(0, min(8, prefixLength - index * 8))
            let mask: UInt8 = bitsHere == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - bitsHere))
            result[index] &= mask
        }
        return result
    }
}
