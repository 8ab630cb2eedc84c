import Foundation
import ReverieCore

/// Placeholders in scripted replies, filled from the request being answered:
/// - `{{last_user}}`: the latest user text (or tool-result text);
/// - `{{match:REGEX}}`: the first capture group (or the whole match) of REGEX in that text,
///   empty when it does not match. REGEX may not contain `}}`;
/// - `{{recall:REGEX}}`: the same, searched in the text of every message of the request
///   (what the model could remember: after a compaction, only what the summary kept).
///
/// Text blocks are filled, and so is every string inside a tool call's input.
enum MockTemplate {
    static func fill(_ text: String, from conversation: MockConversation) -> String {
        guard text.contains("{{") else { return text }
        var output = text.replacingOccurrences(of: "{{last_user}}", with: conversation.lastUserText)
        for (placeholder, source) in [("{{match:", conversation.lastUserText), ("{{recall:", conversation.allText)] {
            while let start = output.range(of: placeholder), let end = output.range(of: "}}", range: start.upperBound..<output.endIndex) {
                let pattern = String(output[start.upperBound..<end.lowerBound])
                output.replaceSubrange(start.lowerBound..<end.upperBound, with: firstMatch(pattern, in: source))
            }
        }
        return output
    }

    static func fill(_ value: JSONValue, from conversation: MockConversation) -> JSONValue {
        switch value {
        case .string(let text): .string(fill(text, from: conversation))
        case .array(let items): .array(items.map { fill($0, from: conversation) })
        case .object(let members): .object(members.mapValues { fill($0, from: conversation) })
        default: value
        }
    }

    private static func firstMatch(_ pattern: String, in text: String) -> String {
        guard let regex = try? NSRegularExpression(pattern: pattern),
            let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
        else { return "" }
        let group = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
        guard let range = Range(group, in: text) else { return "" }
        return String(text[range])
    }
}
