import Foundation
import ReverieCore
import ReverieModels

/// Estimates how many tokens content takes, where no provider has counted it: about four
/// bytes of text (or of JSON, for tool inputs and schemas) per token, plus a little for each
/// block's and message's framing. Images and documents count at most `mediaTokens`.
enum ContextEstimate {
    static let bytesPerToken = 4
    static let blockOverhead = 8
    static let messageOverhead = 4
    /// What one image or document block counts at most (an image of about 1,000 × 1,000 pixels).
    static let mediaTokens = 1_600

    static func tokens(_ text: String) -> Int { (text.utf8.count + bytesPerToken - 1) / bytesPerToken }

    static func tokens(_ json: JSONValue) -> Int { tokens((try? JSONCoding.string(json)) ?? "") }

    static func tokens(_ blocks: [ContentBlock]) -> Int {
        blocks.reduce(0) { total, block in
            let size: Int
            switch block {
            case .text(let text): size = tokens(text)
            case .thinking(let text, let signature): size = tokens(text) + tokens(signature ?? "")
            case .toolUse(let id, let name, let input): size = tokens(id) + tokens(name) + tokens(input)
            case .toolResult(let id, let content, _):
                size = tokens(id) + content.reduce(0) { sum, item in
                    switch item {
                    case .text(let text): sum + tokens(text)
                    case .media(let json): sum + min(mediaTokens, tokens(json))
                    }
                }
            case .media(let json): size = min(mediaTokens, tokens(json))
            }
            return total + size + blockOverhead
        }
    }

    static func tokens(_ messages: some Collection<ModelMessage>) -> Int {
        messages.reduce(0) { $0 + tokens($1.content) + messageOverhead }
    }

    /// The part of every request that does not change between steps: the system prompt and
    /// the tool definitions.
    static func tokens(system: String?, tools: [ToolDefinition]) -> Int {
        tokens(system ?? "") + tools.reduce(0) { $0 + tokens($1.name) + tokens($1.description) + tokens($1.inputSchema) + blockOverhead }
    }
}

extension ModelError {
    /// The provider refused the request for being longer than the model's context window
    /// (Anthropic "prompt is too long", OpenAI `context_length_exceeded`, vLLM and llama.cpp
    /// wordings).
    var isContextOverflow: Bool {
        guard kind == .invalidRequest else { return false }
        let text = message.lowercased()
        return ["prompt is too long", "context length", "context_length", "context window", "context size", "too many tokens"].contains {
            text.contains($0)
        }
    }
}
