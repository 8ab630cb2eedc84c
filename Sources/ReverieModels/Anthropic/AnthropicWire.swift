import Foundation
import ReverieCore

/// Translation between the wire-neutral model types and Messages API JSON.
enum AnthropicWire {
    /// The `cache_control` of every breakpoint Reverie sets (the default five-minute cache).
    static let cacheControl: JSONValue = ["type": "ephemeral"]

    /// The request as Messages API JSON. With `caching`, up to four `cache_control` breakpoints
    /// (the API's limit) are set: on the last tool and on the system prompt (the stable prefix,
    /// kept while the conversation changes), and on the last block of the two latest user
    /// messages, so each step reads what the step before it wrote.
    static func requestBody(_ request: ModelRequest, stream: Bool, caching: Bool = false) -> JSONValue {
        var messages = request.messages.map(message)
        if caching { markConversation(&messages) }
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "max_tokens": .int(Int64(request.maxTokens)),
            "messages": .array(messages),
        ]
        if let system = request.system, !system.isEmpty {
            body["system"] = caching ? [["type": "text", "text": .string(system), "cache_control": cacheControl]] : .string(system)
        }
        if !request.tools.isEmpty {
            var tools: [JSONValue] = request.tools.map { tool in
                .object(["name": .string(tool.name), "description": .string(tool.description), "input_schema": tool.inputSchema])
            }
            if caching, case .object(var last)? = tools.last {
                last["cache_control"] = cacheControl
                tools[tools.count - 1] = .object(last)
            }
            body["tools"] = .array(tools)
            if let name = request.requiredTool { body["tool_choice"] = ["type": "tool", "name": .string(name)] }
        }
        if let temperature = request.temperature { body["temperature"] = .double(temperature) }
        if stream { body["stream"] = .bool(true) }
        return .object(body)
    }

    /// Puts a breakpoint on the last block of the two latest user messages (skipping blocks
    /// that cannot carry one: empty text and thinking).
    static func markConversation(_ messages: inout [JSONValue]) {
        var marked = 0
        for index in messages.indices.reversed() where marked < 2 {
            guard messages[index]["role"] == "user", case .object(var object) = messages[index], var blocks = object["content"]?.arrayValue,
                let last = blocks.indices.last, case .object(var block) = blocks[last]
            else { continue }
            let type = block["type"]?.stringValue
            if type == "thinking" || type == "redacted_thinking" || (type == "text" && block["text"]?.stringValue?.isEmpty != false) { continue }
            block["cache_control"] = cacheControl
            blocks[last] = .object(block)
            object["content"] = .array(blocks)
            messages[index] = .object(object)
            marked += 1
        }
    }

    static func message(_ message: ModelMessage) -> JSONValue {
        .object(["role": .string(message.role.rawValue), "content": .array(message.content.compactMap(block))])
    }

    /// A content block as JSON; thinking without a signature (from another provider) is left out
    /// because the Messages API rejects it.
    static func block(_ block: ContentBlock) -> JSONValue? {
        switch block {
        case .text(let text):
            return ["type": "text", "text": .string(text)]
        case .thinking(let text, let signature):
            guard let signature else { return nil }
            return ["type": "thinking", "thinking": .string(text), "signature": .string(signature)]
        case .toolUse(let id, let name, let input):
            return ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        case .toolResult(let toolUseID, let content, let isError):
            var result: [String: JSONValue] = [
                "type": "tool_result", "tool_use_id": .string(toolUseID),
                "content": .array(
                    content.map { item in
                        switch item {
                        case .text(let text): ["type": "text", "text": .string(text)]
                        case .media(let json): json
                        }
                    }),
            ]
            if isError { result["is_error"] = .bool(true) }
            return .object(result)
        case .media(let json):
            return json
        }
    }

    /// Reads a non-streamed reply (`{"type":"message",…}`).
    static func response(from json: JSONValue) throws -> ModelResponse {
        guard json["type"]?.stringValue == "message", let content = json["content"]?.arrayValue else {
            throw ModelError(.invalidResponse, "the reply is not a message")
        }
        return ModelResponse(
            content: try content.compactMap(contentBlock), stopReason: stopReason(json["stop_reason"]?.stringValue),
            usage: usage(json["usage"]), model: json["model"]?.stringValue ?? "")
    }

    /// A reply content block. Block types Reverie does not model (`redacted_thinking`,
    /// server tool blocks) are kept verbatim as `.media` so they can be sent back unchanged.
    static func contentBlock(_ json: JSONValue) throws -> ContentBlock? {
        switch json["type"]?.stringValue {
        case "text":
            return .text(json["text"]?.stringValue ?? "")
        case "thinking":
            return .thinking(text: json["thinking"]?.stringValue ?? "", signature: json["signature"]?.stringValue)
        case "tool_use":
            guard let id = json["id"]?.stringValue, let name = json["name"]?.stringValue else {
                throw ModelError(.invalidResponse, "a tool_use block lacks its id or name")
            }
            return .toolUse(id: id, name: name, input: json["input"] ?? .object([:]))
        case nil:
            throw ModelError(.invalidResponse, "a content block has no type")
        default:
            return .media(json)
        }
    }

    static func stopReason(_ text: String?) -> StopReason {
        switch text {
        case "end_turn", nil: .endTurn
        case "tool_use": .toolUse
        case "max_tokens": .maxTokens
        case "stop_sequence": .stopSequence
        case "refusal": .refusal
        case let other?: .other(other)
        }
    }

    static func usage(_ json: JSONValue?) -> TokenUsage {
        var usage = TokenUsage()
        update(&usage, from: json)
        return usage
    }

    /// Overwrites the counts `json` carries (message_delta usage is cumulative).
    static func update(_ usage: inout TokenUsage, from json: JSONValue?) {
        guard let json else { return }
        if let value = json["input_tokens"]?.intValue { usage.inputTokens = Int(value) }
        if let value = json["output_tokens"]?.intValue { usage.outputTokens = Int(value) }
        if let value = json["cache_read_input_tokens"]?.intValue { usage.cacheReadInputTokens = Int(value) }
        if let value = json["cache_creation_input_tokens"]?.intValue { usage.cacheCreationInputTokens = Int(value) }
    }
}
