import Foundation
import ReverieCore

/// Translation between the wire-neutral model types (Anthropic vocabulary) and chat completions.
enum OpenAIWire {
    static func requestBody(_ request: ModelRequest, stream: Bool, maxTokensField: String) -> JSONValue {
        var messages: [JSONValue] = []
        if let system = request.system, !system.isEmpty {
            messages.append(["role": "system", "content": .string(system)])
        }
        for message in request.messages { messages.append(contentsOf: self.messages(message)) }
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(messages),
            maxTokensField: .int(Int64(request.maxTokens)),
        ]
        if !request.tools.isEmpty {
            body["tools"] = .array(
                request.tools.map { tool in
                    [
                        "type": "function",
                        "function": ["name": .string(tool.name), "description": .string(tool.description), "parameters": tool.inputSchema],
                    ]
                })
            if let name = request.requiredTool { body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]] }
        }
        if let temperature = request.temperature { body["temperature"] = .double(temperature) }
        if stream {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        return .object(body)
    }

    /// One conversation turn as chat messages. A user turn's tool results come first, each as a
    /// `role: "tool"` message (they must directly follow the assistant's `tool_calls`), then
    /// its text and media as one user message. Thinking blocks are not sent.
    static func messages(_ message: ModelMessage) -> [JSONValue] {
        switch message.role {
        case .assistant:
            var text = ""
            var toolCalls: [JSONValue] = []
            for block in message.content {
                switch block {
                case .text(let value): text += value
                case .toolUse(let id, let name, let input):
                    toolCalls.append([
                        "id": .string(id), "type": "function",
                        "function": ["name": .string(name), "arguments": .string(argumentsString(input))],
                    ])
                case .thinking, .toolResult, .media: break
                }
            }
            var result: [String: JSONValue] = ["role": "assistant", "content": text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)]
            if !toolCalls.isEmpty { result["tool_calls"] = .array(toolCalls) }
            return [.object(result)]
        case .user:
            var result: [JSONValue] = []
            var parts: [JSONValue] = []
            var onlyText = true
            for block in message.content {
                switch block {
                case .toolResult(let toolUseID, let content, let isError):
                    var text = content.map { item -> String in
                        switch item {
                        case .text(let value): value
                        case .media: "[media omitted]"
                        }
                    }.joined(separator: "\n")
                    if isError { text = "Error: " + text }
                    result.append(["role": "tool", "tool_call_id": .string(toolUseID), "content": .string(text)])
                case .text(let value):
                    parts.append(["type": "text", "text": .string(value)])
                case .media(let json):
                    if let part = mediaPart(json) {
                        parts.append(part)
                        onlyText = false
                    }
                case .thinking, .toolUse: break
                }
            }
            if !parts.isEmpty {
                if onlyText {
                    let text = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
                    result.append(["role": "user", "content": .string(text)])
                } else {
                    result.append(["role": "user", "content": .array(parts)])
                }
            }
            return result
        }
    }

    /// An Anthropic image block (`source` base64 or url) as an `image_url` part; other media is dropped.
    static func mediaPart(_ json: JSONValue) -> JSONValue? {
        guard json["type"]?.stringValue == "image", let source = json["source"] else { return nil }
        switch source["type"]?.stringValue {
        case "base64":
            guard let mediaType = source["media_type"]?.stringValue, let data = source["data"]?.stringValue else { return nil }
            return ["type": "image_url", "image_url": ["url": .string("data:\(mediaType);base64,\(data)")]]
        case "url":
            guard let url = source["url"]?.stringValue else { return nil }
            return ["type": "image_url", "image_url": ["url": .string(url)]]
        default:
            return nil
        }
    }

    static func argumentsString(_ input: JSONValue) -> String {
        (try? JSONCoding.string(input)) ?? "{}"
    }

    /// Tool call arguments arrive as a JSON string. Text that is not a JSON object is kept as
    /// `{"_raw_arguments": text}` so the tool layer can tell the model what went wrong.
    static func input(fromArguments text: String) -> JSONValue {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .object([:]) }
        if let value = try? JSONCoding.decode(JSONValue.self, from: trimmed), value.objectValue != nil { return value }
        return ["_raw_arguments": .string(text)]
    }

    /// Reads a non-streamed completion.
    static func response(from json: JSONValue) throws -> ModelResponse {
        guard let choice = json["choices"]?.arrayValue?.first, let message = choice["message"] else {
            throw ModelError(.invalidResponse, "the reply has no choices[0].message")
        }
        var content: [ContentBlock] = []
        if let reasoning = message["reasoning_content"]?.stringValue ?? message["reasoning"]?.stringValue, !reasoning.isEmpty {
            content.append(.thinking(text: reasoning, signature: nil))
        }
        if let text = message["content"]?.stringValue, !text.isEmpty { content.append(.text(text)) }
        var sawToolCall = false
        for (number, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            guard let function = call["function"], let name = function["name"]?.stringValue else {
                throw ModelError(.invalidResponse, "tool_calls[\(number)] lacks function.name")
            }
            let id = call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "call_\(number)"
            let arguments: JSONValue
            if let text = function["arguments"]?.stringValue {
                arguments = input(fromArguments: text)
            } else {
                arguments = function["arguments"] ?? .object([:])
            }
            content.append(.toolUse(id: id, name: name, input: arguments))
            sawToolCall = true
        }
        return ModelResponse(
            content: content, stopReason: stopReason(choice["finish_reason"]?.stringValue, sawToolCall: sawToolCall), usage: usage(json["usage"]),
            model: json["model"]?.stringValue ?? "")
    }

    /// `finish_reason` as a stop reason. Some servers say `stop` even when they called tools.
    static func stopReason(_ reason: String?, sawToolCall: Bool) -> StopReason {
        if sawToolCall { return .toolUse }
        switch reason {
        case "stop", "end_turn", nil: return .endTurn
        case "tool_calls", "function_call": return .toolUse
        case "length": return .maxTokens
        case "content_filter": return .refusal
        case let other?: return .other(other)
        }
    }

    /// `prompt_tokens` includes cached tokens; like Anthropic's usage, `inputTokens` does not.
    static func usage(_ json: JSONValue?) -> TokenUsage {
        guard let json else { return TokenUsage() }
        let prompt = Int(json["prompt_tokens"]?.intValue ?? 0)
        let cached = Int(json["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
        return TokenUsage(
            inputTokens: max(0, prompt - cached), outputTokens: Int(json["completion_tokens"]?.intValue ?? 0), cacheReadInputTokens: cached)
    }
}
