import Foundation
import ReverieCore

/// Turns API models into what templates read: their JSON wire shape (the same members the API
/// returns) as plain dictionaries, arrays, strings, numbers and booleans.
enum ViewValue {
    static func of<T: Encodable>(_ value: T) -> [String: Any] {
        guard let json = try? JSONCoding.value(value) else { return [:] }
        return (plain(json) as? [String: Any]) ?? [:]
    }

    static func plain(_ json: JSONValue) -> Any {
        switch json {
        case .null: return NSNull()
        case .bool(let value): return value
        case .int(let value): return Int(value)
        case .double(let value): return value
        case .string(let value): return value
        case .array(let values): return values.map(plain)
        case .object(let members): return members.mapValues(plain)
        }
    }

    /// Pretty-printed JSON, for tool inputs and raw event bodies.
    static func pretty(_ json: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(json) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    static func date(_ date: Date?) -> String {
        guard let date else { return "" }
        return Timestamp.format(date)
    }

    /// `2026-11-30 02:10:05` (UTC), shorter than the wire format.
    static func shortDate(_ date: Date?) -> String {
        guard let date else { return "" }
        let text = Timestamp.format(date)
        return String(text.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func tokens(_ usage: SessionUsage) -> String {
        "\(usage.inputTokens) in / \(usage.outputTokens) out" + (usage.cacheReadInputTokens > 0 ? " / \(usage.cacheReadInputTokens) cached" : "")
    }
}
