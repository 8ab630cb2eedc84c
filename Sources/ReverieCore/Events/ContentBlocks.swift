/// Validation of the content blocks clients send in events.
public enum ContentBlocks {
    /// Which block types a field accepts.
    public enum Allowed: Sendable {
        /// text, image, document, redacted (user messages).
        case message
        /// text, image, document, search_result (tool results).
        case toolResult
        /// text only (system messages).
        case textOnly
    }

    public static let maxBlocks = 1000

    /// Checks every block and returns them as sent.
    public static func parse(_ values: [JSONValue], at field: FieldPath, allowed: Allowed) throws(APIError) -> [JSONValue] {
        try Rules.count(values, field, max: maxBlocks)
        for (index, value) in values.enumerated() {
            let block = try ObjectReader(value, at: field.index(index))
            let type = try block.discriminator()
            switch (type, allowed) {
            case ("text", _):
                try block.rejectUnknown(["type", "text", "cache_control", "citations"])
                _ = try block.requiredString("text")
            case ("image", .message), ("image", .toolResult):
                try block.rejectUnknown(["type", "source", "cache_control"])
                try source(block.requiredObject("source"), kinds: ["base64", "url", "file"])
            case ("document", .message), ("document", .toolResult):
                try block.rejectUnknown(["type", "source", "title", "context", "citations", "cache_control"])
                try source(block.requiredObject("source"), kinds: ["base64", "text", "url", "file"])
                _ = try block.string("title")
                _ = try block.string("context")
            case ("redacted", .message):
                try block.rejectUnknown(["type"])
            case ("search_result", .toolResult):
                try block.rejectUnknown(["type", "source", "title", "content", "citations", "cache_control"])
                _ = try block.requiredString("source")
                _ = try block.requiredString("title")
                guard let content = try block.array("content") else {
                    throw APIError.invalidRequest("\(block.field("content")): required")
                }
                _ = try parse(content, at: block.field("content"), allowed: .textOnly)
            default:
                let expected =
                    switch allowed {
                    case .message: "text, image, document or redacted"
                    case .toolResult: "text, image, document or search_result"
                    case .textOnly: "text"
                    }
                throw APIError.invalidRequest("\(block.field("type")): unsupported block type '\(type)'; expected \(expected)")
            }
        }
        return values
    }

    private static func source(_ source: ObjectReader, kinds: Set<String>) throws(APIError) {
        let type = try source.discriminator()
        guard kinds.contains(type) else {
            throw APIError.invalidRequest("\(source.field("type")): unsupported source type '\(type)'")
        }
        switch type {
        case "base64":
            _ = try source.requiredString("data")
            _ = try source.requiredString("media_type")
        case "text":
            _ = try source.requiredString("data")
        case "url":
            _ = try source.requiredString("url")
        case "file":
            _ = try source.requiredString("file_id")
        default: break
        }
    }
}
