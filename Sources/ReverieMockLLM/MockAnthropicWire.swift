import Foundation
import ReverieCore

/// The Messages API as the mock speaks it: replies, SSE event sequences and errors.
enum MockAnthropicWire {
    static func message(_ reply: MockReply) -> JSONValue {
        [
            "id": .string(reply.id), "type": "message", "role": "assistant", "model": .string(reply.model),
            "content": .array(reply.blocks.map(block)), "stop_reason": .string(reply.stopReason), "stop_sequence": nil,
            "usage": usage(reply.usage),
        ]
    }

    static func block(_ block: MockReply.Block) -> JSONValue {
        switch block {
        case .text(let text): ["type": "text", "text": .string(text)]
        case .thinking(let text, let signature): ["type": "thinking", "thinking": .string(text), "signature": .string(signature)]
        case .toolUse(let id, let name, let input): ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        }
    }

    static func usage(_ usage: MockUsage) -> JSONValue {
        [
            "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
            "cache_read_input_tokens": .int(Int64(usage.cacheReadInputTokens)),
            "cache_creation_input_tokens": .int(Int64(usage.cacheCreationInputTokens)),
        ]
    }

    /// The stream, as `(event name, data)` pairs, and the position just after the first delta
    /// (where a truncated or failing stream stops).
    static func events(_ reply: MockReply) -> (events: [(String, JSONValue)], firstDeltaEnd: Int) {
        var events: [(String, JSONValue)] = []
        var firstDeltaEnd: Int?
        func add(_ type: String, _ data: [String: JSONValue]) {
            var data = data
            data["type"] = .string(type)
            events.append((type, .object(data)))
            if type == "content_block_delta", firstDeltaEnd == nil { firstDeltaEnd = events.count }
        }
        var start = message(reply).objectValue ?? [:]
        start["content"] = .array([])
        start["stop_reason"] = .null
        var startUsage = reply.usage
        startUsage.outputTokens = min(1, reply.usage.outputTokens)
        start["usage"] = usage(startUsage)
        add("message_start", ["message": .object(start)])
        for (index, block) in reply.blocks.enumerated() {
            let position = JSONValue.int(Int64(index))
            switch block {
            case .text(let text):
                add("content_block_start", ["index": position, "content_block": ["type": "text", "text": ""]])
                if index == 0 { add("ping", [:]) }
                for piece in MockReply.pieces(text) where !piece.isEmpty {
                    add("content_block_delta", ["index": position, "delta": ["type": "text_delta", "text": .string(piece)]])
                }
            case .thinking(let text, let signature):
                add("content_block_start", ["index": position, "content_block": ["type": "thinking", "thinking": "", "signature": ""]])
                if index == 0 { add("ping", [:]) }
                for piece in MockReply.pieces(text) where !piece.isEmpty {
                    add("content_block_delta", ["index": position, "delta": ["type": "thinking_delta", "thinking": .string(piece)]])
                }
                add("content_block_delta", ["index": position, "delta": ["type": "signature_delta", "signature": .string(signature)]])
            case .toolUse(let id, let name, let input):
                add(
                    "content_block_start",
                    ["index": position, "content_block": ["type": "tool_use", "id": .string(id), "name": .string(name), "input": [:]]])
                if index == 0 { add("ping", [:]) }
                let json = (try? JSONCoding.string(input)) ?? "{}"
                for piece in MockReply.pieces(json, size: 8) {
                    add("content_block_delta", ["index": position, "delta": ["type": "input_json_delta", "partial_json": .string(piece)]])
                }
            }
            add("content_block_stop", ["index": position])
        }
        add(
            "message_delta",
            [
                "delta": ["stop_reason": .string(reply.stopReason), "stop_sequence": nil],
                "usage": ["output_tokens": .int(Int64(reply.usage.outputTokens))],
            ])
        add("message_stop", [:])
        return (events, firstDeltaEnd ?? 1)
    }

    static func errorType(status: Int) -> String {
        switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 529: "overloaded_error"
        default: "api_error"
        }
    }

    static func error(type: String, message: String) -> JSONValue {
        ["type": "error", "error": ["type": .string(type), "message": .string(message)]]
    }

    /// Checks what the real API rejects: missing fields, and tool results that answer no tool
    /// call of the preceding assistant turn.
    static func validate(_ body: JSONValue) -> String? {
        guard body.objectValue != nil else { return "the body must be a JSON object" }
        guard let model = body["model"]?.stringValue, !model.isEmpty else { return "model: Field required" }
        guard body["max_tokens"]?.intValue != nil else { return "max_tokens: Field required" }
        guard let messages = body["messages"]?.arrayValue else { return "messages: Field required" }
        if let first = messages.first, first["role"]?.stringValue != "user" { return "messages.0.role: the first message must use the user role" }
        let breakpoints = MockPromptCache.breakpoints(body).count
        if breakpoints > 4 { return "A maximum of 4 blocks with cache_control may be provided. Found \(breakpoints)." }
        var previousToolUses: Set<String> = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue
            guard role == "user" || role == "assistant" else { return "messages.\(index).role: must be user or assistant" }
            let blocks = message["content"]?.arrayValue ?? []
            if role == "user" {
                for block in blocks where block["type"]?.stringValue == "tool_result" {
                    let id = block["tool_use_id"]?.stringValue ?? ""
                    if !previousToolUses.contains(id) {
                        return "messages.\(index): tool_result block(s) reference tool_use id '\(id)', which is not in the previous message"
                    }
                }
                previousToolUses = []
            } else {
                previousToolUses = Set(blocks.filter { $0["type"]?.stringValue == "tool_use" }.compactMap { $0["id"]?.stringValue })
            }
        }
        return nil
    }
}
