import Foundation
import ReverieCore

/// A step turned into a concrete reply: ids assigned, placeholders filled in (`MockTemplate`),
/// usage decided.
struct MockReply: Sendable {
    enum Block: Sendable {
        case text(String)
        case thinking(String, signature: String)
        case toolUse(id: String, name: String, input: JSONValue)
    }

    var id: String
    var blocks: [Block]
    var stopReason: String
    var usage: MockUsage
    var model: String

    init(step: MockStep, conversation: MockConversation, defaults: MockDefaults, serial: Int, requestBytes: Int,
         promptCache: MockPromptCache.Lookup = MockPromptCache.Lookup(readBytes: 0, writtenBytes: 0)) {
        let toolPrefix = conversation.api == .anthropic ? "toolu_mock_" : "call_mock_"
        id = conversation.api == .anthropic ? "msg_mock_\(serial)" : "chatcmpl-mock-\(serial)"
        var outputCharacters = 0
        blocks = step.reply.enumerated().map { index, block in
            switch block {
            case .text(let text):
                let filled = MockTemplate.fill(text, from: conversation)
                outputCharacters += filled.count
                return .text(filled)
            case .thinking(let text, let signature):
                outputCharacters += text.count
                return .thinking(text, signature: signature ?? "mock-signature-\(serial)-\(index)")
            case .toolUse(let name, let input, let id):
                let filled = MockTemplate.fill(input, from: conversation)
                outputCharacters += name.count + ((try? JSONCoding.string(filled).count) ?? 0)
                return .toolUse(id: id ?? "\(toolPrefix)\(serial)_\(index)", name: name, input: filled)
            }
        }
        stopReason = step.effectiveStopReason
        // Unscripted usage counts 4 bytes of request as a token; what the simulated prompt cache
        // read or wrote is reported apart from the rest.
        let (read, written) = (promptCache.readBytes / 4, promptCache.writtenBytes / 4)
        usage = step.usage ?? MockUsage(
            inputTokens: max(1, requestBytes / 4 - read - written), outputTokens: max(1, outputCharacters / 4), cacheReadInputTokens: read,
            cacheCreationInputTokens: written)
        model = defaults.model ?? conversation.model
    }

    /// Splits text into stream-sized pieces, preferring to break after spaces.
    static func pieces(_ text: String, size: Int = 16) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if current.count >= size && character == " " || current.count >= size * 2 {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty || pieces.isEmpty { pieces.append(current) }
        return pieces
    }
}
