import Foundation

/// Reading transcript files: UTF-8 text, JSON documents and JSON Lines, with errors that
/// name the file and line.
enum JSONLines {
    /// A file's text; an error when it is not UTF-8.
    static func text(_ data: Data, file: String) throws(TranscriptParseError) -> String {
        guard let text = String(data: data, encoding: .utf8) else {
            throw TranscriptParseError(origin: file, line: nil, message: "not UTF-8 text")
        }
        return text
    }

    /// Each non-blank line (numbered from 1) parsed as JSON.
    static func parse(_ data: Data, file: String) throws(TranscriptParseError) -> [(line: Int, value: JSONValue)] {
        _ = try text(data, file: file)
        var values: [(line: Int, value: JSONValue)] = []
        var number = 0
        // Split on line-feed bytes (a CR before one is whitespace to JSON), never on other
        // line separators, which JSON strings may hold unescaped.
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            guard line.contains(where: { ![0x20, 0x09, 0x0D].contains($0) }) else { continue }
            values.append((number, try value(Data(line), file: file, line: number)))
        }
        return values
    }

    /// One JSON document.
    static func value(_ data: Data, file: String, line: Int?) throws(TranscriptParseError) -> JSONValue {
        do {
            return try JSONCoding.decode(JSONValue.self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw TranscriptParseError(origin: file, line: line, message: "not valid JSON (\(context.debugDescription))")
        } catch {
            throw TranscriptParseError(origin: file, line: line, message: "not valid JSON")
        }
    }

    /// The text of message content: a string, or blocks whose `text` is joined; other
    /// blocks (images, audio, files) become a short placeholder such as `[image]`.
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let blocks)?:
            return blocks.compactMap { block -> String? in
                if case .string(let text) = block { return text }
                let type = block["type"]?.stringValue ?? "content"
                switch type {
                case "text", "input_text", "output_text": return block["text"]?.stringValue
                case "refusal": return block["refusal"]?.stringValue
                case "image", "image_url", "input_image": return "[image]"
                default: return "[\(type)]"
                }
            }.joined(separator: "\n")
        case .null?, nil: return ""
        case let other?: return (try? JSONCoding.string(other)) ?? ""
        }
    }

    /// `success` and `reward` members of a record, when present; an error when they have the wrong type.
    static func outcome(_ value: JSONValue, file: String, line: Int?) throws(TranscriptParseError) -> (success: Bool?, reward: Double?) {
        var success: Bool?
        var reward: Double?
        switch value["success"] {
        case nil, .null?: break
        case .bool(let flag)?: success = flag
        case let other?: throw TranscriptParseError(origin: file, line: line, message: "success: expected true or false, got \(other.typeName)")
        }
        switch value["reward"] {
        case nil, .null?: break
        case .int(let number)?: reward = Double(number)
        case .double(let number)? where number.isFinite: reward = number
        case let other?: throw TranscriptParseError(origin: file, line: line, message: "reward: expected a number, got \(other.typeName)")
        }
        return (success, reward)
    }
}
