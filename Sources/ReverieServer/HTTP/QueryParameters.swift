import Foundation
import ReverieCore

/// A request's query string, decoded: `types[]=a&types[]=b`, `types=a,b` and repeated
/// `types=a&types=b` all read as a list.
struct QueryParameters: Sendable {
    private var pairs: [(String, String)] = []

    init(_ query: String?) {
        guard let query, !query.isEmpty else { return }
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let keyValue = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(keyValue[0])
            let value = keyValue.count > 1 ? Self.decode(keyValue[1]) : ""
            pairs.append((key, value))
        }
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The last value of `name`.
    func string(_ name: String) -> String? {
        pairs.last { $0.0 == name }?.1
    }

    /// Every value of `name` (or `name[]`), splitting comma-separated values.
    func list(_ name: String) -> [String] {
        pairs.filter { $0.0 == name || $0.0 == name + "[]" }
            .flatMap { $0.1.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
            .filter { !$0.isEmpty }
    }

    /// An integer parameter, checked against bounds.
    func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws(APIError) -> Int {
        guard let text = string(name), !text.isEmpty else { return defaultValue }
        guard let value = Int(text) else { throw APIError.invalidRequest("\(name): expected an integer, got '\(text)'") }
        guard range.contains(value) else {
            throw APIError.invalidRequest("\(name): must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
        return value
    }

    /// An optional integer parameter.
    func optionalInt(_ name: String) throws(APIError) -> Int? {
        guard let text = string(name), !text.isEmpty else { return nil }
        guard let value = Int(text) else { throw APIError.invalidRequest("\(name): expected an integer, got '\(text)'") }
        return value
    }

    /// A boolean parameter (`true`/`false`/`1`/`0`).
    func bool(_ name: String, default defaultValue: Bool = false) throws(APIError) -> Bool {
        guard let text = string(name)?.lowercased(), !text.isEmpty else { return defaultValue }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.invalidRequest("\(name): expected true or false, got '\(text)'")
        }
    }

    /// A timestamp parameter in microseconds; offset-less times are read as UTC.
    func timestamp(_ name: String) throws(APIError) -> Int64? {
        guard let text = string(name), !text.isEmpty else { return nil }
        return try Self.timestamp(text, name: name)
    }

    static func timestamp(_ text: String, name: String) throws(APIError) -> Int64 {
        if let date = Timestamp.parse(text) ?? Timestamp.parse(text + "Z") {
            return Timestamp.micros(date)
        }
        throw APIError.invalidRequest("\(name): expected an RFC 3339 timestamp, got '\(text)'")
    }

    /// The `created_at[gt|gte|lt|lte]` family (the SDK's form; `created_at_gte` is accepted
    /// too) as a range.
    func timeRange(_ prefix: String) throws(APIError) -> TimeRange {
        func bound(_ suffix: String) throws(APIError) -> Int64? {
            for name in ["\(prefix)[\(suffix)]", "\(prefix)_\(suffix)"] {
                if let text = string(name), !text.isEmpty { return try Self.timestamp(text, name: name) }
            }
            return nil
        }
        var range = TimeRange()
        if let value = try bound("gte") { range.lowerBound = value }
        if let value = try bound("gt") {
            range.lowerBound = value
            range.lowerInclusive = false
        }
        if let value = try bound("lte") { range.upperBound = value }
        if let value = try bound("lt") {
            range.upperBound = value
            range.upperInclusive = false
        }
        return range
    }

    /// `limit`, `page` and `order` as a page request.
    func page(defaultLimit: Int = 20, maxLimit: Int = 100, defaultOrder: ListOrder = .descending) throws(APIError) -> PageRequest {
        let limit = try int("limit", default: defaultLimit, range: 1...maxLimit)
        var cursor: Cursor?
        if let token = string("page"), !token.isEmpty { cursor = try Cursor(token: token) }
        var order = defaultOrder
        if let text = string("order"), !text.isEmpty {
            guard let parsed = ListOrder(rawValue: text) else { throw APIError.invalidRequest("order: must be 'asc' or 'desc'") }
            order = parsed
        }
        return PageRequest(limit: limit, cursor: cursor, order: order)
    }
}
