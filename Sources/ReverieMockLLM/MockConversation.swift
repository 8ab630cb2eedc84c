import Foundation
import ReverieCore

/// What the rules match on, read from either API's request body.
struct MockConversation: Sendable {
    var api: MockAPI
    var model: String
    var system: String
    /// The latest user turn's text and tool-result text.
    var lastUserText: String
    /// The text of every message (user, assistant and tool results), oldest first.
    var allText: String
    var toolNames: [String]
    var stream: Bool
    /// OpenAI: `stream_options.include_usage`.
    var includeUsage: Bool

    init(api: MockAPI, body: JSONValue) {
        self.api = api
        model = body["model"]?.stringValue ?? ""
        stream = body["stream"]?.boolValue ?? false
        includeUsage = body["stream_options"]?["include_usage"]?.boolValue ?? false
        let messages = body["messages"]?.arrayValue ?? []
        allText = messages.map { Self.text($0["content"]) }.filter { !$0.isEmpty }.joined(separator: "\n")
        switch api {
        case .anthropic:
            system = Self.text(body["system"])
            let lastUser = messages.last(where: { $0["role"]?.stringValue == "user" })
            lastUserText = Self.text(lastUser?["content"])
            toolNames = (body["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        case .openai:
            system = messages.filter { ["system", "developer"].contains($0["role"]?.stringValue ?? "") }.map { Self.text($0["content"]) }
                .joined(separator: "\n")
            // The trailing run of user and tool messages (tool results follow the assistant's calls).
            var trailing: [String] = []
            for message in messages.reversed() {
                let role = message["role"]?.stringValue ?? ""
                guard role == "user" || role == "tool" else { break }
                trailing.insert(Self.text(message["content"]), at: 0)
            }
            lastUserText = trailing.joined(separator: "\n")
            toolNames = (body["tools"]?.arrayValue ?? []).compactMap { $0["function"]?["name"]?.stringValue }
        }
    }

    /// The text of a string, or of the text parts and tool results of a content array.
    static func text(_ value: JSONValue?) -> String {
        guard let value else { return "" }
        if let text = value.stringValue { return text }
        guard let parts = value.arrayValue else { return "" }
        return parts.compactMap { part -> String? in
            switch part["type"]?.stringValue {
            case "text": part["text"]?.stringValue
            case "tool_result": text(part["content"])
            default: nil
            }
        }.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

extension MockRule {
    func matches(_ conversation: MockConversation) -> Bool {
        if let api, api != conversation.api { return false }
        if let model, model != conversation.model { return false }
        if let systemContains, !conversation.system.contains(systemContains) { return false }
        if let lastUserContains, !conversation.lastUserText.contains(lastUserContains) { return false }
        if let hasTool, !conversation.toolNames.contains(hasTool) { return false }
        if let systemRegex, !Self.search(systemRegex, in: conversation.system) { return false }
        if let lastUserRegex, !Self.search(lastUserRegex, in: conversation.lastUserText) { return false }
        return true
    }

    private static func search(_ pattern: String, in text: String) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return text.contains(regex)
    }
}
