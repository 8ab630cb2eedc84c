import Foundation

/// An opaque position in a list: the sort key and id of the item a page starts after (or
/// before, for a previous page). Clients see it as the `page` token.
public struct Cursor: Sendable, Equatable {
    public enum Direction: String, Sendable {
        case after = "a"
        case before = "b"
    }

    public var direction: Direction
    /// The sort key of the boundary item: a timestamp in microseconds or a log sequence.
    public var position: Int64
    /// The boundary item's id, breaking ties between equal sort keys.
    public var id: String

    public init(direction: Direction = .after, position: Int64, id: String) {
        self.direction = direction
        self.position = position
        self.id = id
    }

    /// The token sent to clients.
    public var token: String {
        let raw = "\(direction.rawValue)|\(position)|\(id)"
        return "page_"
            + Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a token; a malformed one is a 400 naming the `page` parameter.
    public init(token: String) throws(APIError) {
        let invalid = APIError.invalidRequest("page: invalid pagination cursor")
        guard token.hasPrefix("page_") else { throw invalid }
        var base64 = String(token.dropFirst(5)).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let raw = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = raw.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let direction = Direction(rawValue: String(parts[0])), let position = Int64(parts[1]) else {
            throw invalid
        }
        self.init(direction: direction, position: position, id: String(parts[2]))
    }
}

/// Sort direction of a list.
public enum ListOrder: String, Sendable {
    case ascending = "asc"
    case descending = "desc"
}

/// Which page of a list to read.
public struct PageRequest: Sendable, Equatable {
    public var limit: Int
    public var cursor: Cursor?
    public var order: ListOrder

    public init(limit: Int = 20, cursor: Cursor? = nil, order: ListOrder = .descending) {
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

/// One page of a list, with cursors to the pages on either side.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: Cursor?
    public var previous: Cursor?

    public init(items: [Item], next: Cursor? = nil, previous: Cursor? = nil) {
        self.items = items
        self.next = next
        self.previous = previous
    }

    /// Transforms the items, keeping the cursors.
    public func map<T: Sendable>(_ transform: (Item) throws -> T) rethrows -> Page<T> {
        Page<T>(items: try items.map(transform), next: next, previous: previous)
    }
}

/// A time range filter on a list (`created_at_gte`, `created_at_lt`, …), in microseconds.
public struct TimeRange: Sendable, Equatable {
    public var lowerBound: Int64?
    public var lowerInclusive: Bool
    public var upperBound: Int64?
    public var upperInclusive: Bool

    public init(lowerBound: Int64? = nil, lowerInclusive: Bool = true, upperBound: Int64? = nil, upperInclusive: Bool = true) {
        self.lowerBound = lowerBound
        self.lowerInclusive = lowerInclusive
        self.upperBound = upperBound
        self.upperInclusive = upperInclusive
    }

    public static let unbounded = TimeRange()

    /// Whether `micros` falls in the range.
    public func contains(_ micros: Int64) -> Bool {
        if let lowerBound, lowerInclusive ? micros < lowerBound : micros <= lowerBound { return false }
        if let upperBound, upperInclusive ? micros > upperBound : micros >= upperBound { return false }
        return true
    }
}
