import Foundation
import ReverieCore

/// Formatting of values for templates: JSON shown as text, dates, token usage.
enum DisplayFormat {
    /// Pretty-printed JSON, for tool inputs and raw event bodies.
    static func pretty(_ json: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(json) else { return "" }
        return String(decoding: data, as: UTF8.self)
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
