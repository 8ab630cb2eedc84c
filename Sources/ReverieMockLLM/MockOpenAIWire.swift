import Foundation
import ReverieCore

/// Chat completions as the mock speaks them.
enum MockOpenAIWire {
    static func finishReason(_ stopReason: String) -> String {
        switch stopReason {
        case "end_turn", "stop_sequence": "stop"
        case "tool_use": "tool_calls"
        case "max_tokens": "length"
        case "refusal": "content_filter"
        default: stopReason
        }
    }

    static func usage(_ usage: MockUsage) -> JSONValue {
        let prompt = usage.inputTokens + usage.cacheReadInputTokens
        var json: [String: JSONValue] = [
            "prompt_tokens": .int(Int64(prompt)), "completion_tokens": .int(Int64(usage.outputTokens)),
            "total_tokens": .int(Int64(prompt + usage.outputTokens)),
        ]
        if usage.cacheReadInputTokens > 0 { json["prompt_tokens_details"] = ["cached_tokens": .int(Int64(usage.cacheReadInputTokens))] }
        return .object(json)
    }

    static func completion(_ reply: MockReply, created: Int64) -> JSONValue {
        var text = ""
        var reasoning = ""
        var calls: [JSONValue] = []
        for block in reply.blocks {
            switch block {
            case .text(let value): text += value
            case .thinking(let value, _): reasoning += value
            case .toolUse(let id, let name, let input):
                calls.append([
                    "id": .string(id), "type": "function",
                    "function": ["name": .string(name), "arguments": .string((try? JSONCoding.string(input)) ?? "{}")],
                ])
            }
        }
        var message: [String: JSONValue] = ["role": "assistant", "content": text.isEmpty && !calls.isEmpty ? nil : .string(text)]
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
        return [
            "id": .string(reply.id), "object": "chat.completion", "created": .int(created), "model": .string(reply.model),
            "choices": [["index": 0, "message": .object(message), "finish_reason": .string(finishReason(reply.stopReason))]],
            "usage": usage(reply.usage),
        ]
    }

    /// The chunks of a streamed completion (without the final `[DONE]`), and the position just
    /// after the first content chunk.
    static func chunks(_ reply: MockReply, created: Int64, includeUsage: Bool) -> (chunks: [JSONValue], firstDeltaEnd: Int) {
        var chunks: [JSONValue] = []
        var firstDeltaEnd: Int?
        func add(_ delta: JSONValue, finish: String? = nil, content: Bool = true) {
            chunks.append([
                "id": .string(reply.id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(reply.model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finish.map(JSONValue.string) ?? .null]],
            ])
            if content, firstDeltaEnd == nil { firstDeltaEnd = chunks.count }
        }
        add(["role": "assistant", "content": ""], content: false)
        var callIndex: Int64 = 0
        for block in reply.blocks {
            switch block {
            case .text(let text):
                for piece in MockReply.pieces(text) where !piece.isEmpty { add(["content": .string(piece)]) }
            case .thinking(let text, _):
                for piece in MockReply.pieces(text) where !piece.isEmpty { add(["reasoning_content": .string(piece)]) }
            case .toolUse(let id, let name, let input):
                add(["tool_calls": [["index": .int(callIndex), "id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": ""]]]])
                for piece in MockReply.pieces((try? JSONCoding.string(input)) ?? "{}", size: 8) {
                    add(["tool_calls": [["index": .int(callIndex), "function": ["arguments": .string(piece)]]]])
                }
                callIndex += 1
            }
        }
        add([:], finish: finishReason(reply.stopReason), content: false)
        if includeUsage {
            chunks.append([
                "id": .string(reply.id), "object": "chat.completion.chunk", "created": .int(created), "model": .string(reply.model), "choices": [],
                "usage": usage(reply.usage),
            ])
        }
        return (chunks, firstDeltaEnd ?? 1)
    }

    static func errorType(status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 429: "rate_limit_exceeded"
        case 400...499: "invalid_request_error"
        default: "server_error"
        }
    }

    static func error(type: String, message: String) -> JSONValue {
        ["error": ["message": .string(message), "type": .string(type), "param": nil, "code": nil]]
    }

    /// Checks what servers reject: missing fields, and `role: tool` messages that answer no
    /// tool call of the preceding assistant message.
    static func validate(_ body: JSONValue) -> String? {
        guard body.objectValue != nil else { return "the body must be a JSON object" }
        guard let model = body["model"]?.stringValue, !model.isEmpty else { return "model is required" }
        guard let messages = body["messages"]?.arrayValue, !messages.isEmpty else { return "messages is required" }
        var openCalls: Set<String> = []
        for (index, message) in messages.enumerated() {
            switch message["role"]?.stringValue {
            case "assistant":
                openCalls = Set((message["tool_calls"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            case "tool":
                let id = message["tool_call_id"]?.stringValue ?? ""
                guard openCalls.contains(id) else {
                    return "messages[\(index)]: a message with role 'tool' must be a response to a preceding message with 'tool_calls' (tool_call_id '\(id)')"
                }
            case "system", "developer", "user":
                openCalls = []
            default:
                return "messages[\(index)].role is not valid"
            }
        }
        return nil
    }
}
