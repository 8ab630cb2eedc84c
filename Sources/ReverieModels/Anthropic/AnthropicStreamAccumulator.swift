import Foundation
import ReverieCore

/// Builds a `ModelResponse` from the Messages API stream (`message_start`,
/// `content_block_start/delta/stop`, `message_delta`, `message_stop`, `ping`, `error`) and
/// reports text deltas as they arrive. A stream that ends before `message_stop` is
/// `ModelError(.truncated)`.
struct AnthropicStreamAccumulator: Sendable {
    private struct PartialBlock: Sendable {
        var type: String
        var text = ""
        var signature: String?
        var id = ""
        var name = ""
        var inputJSON = ""
        var initialInput: JSONValue = .object([:])
        var raw: JSONValue = .null
        var finished = false
    }

    private var blocks: [Int: PartialBlock] = [:]
    private var model = ""
    private var usage = TokenUsage()
    private var stopReason: String?
    private var started = false
    private(set) var stopped = false

    /// Applies one event, returning the progress to report.
    mutating func apply(_ event: ServerSentEvent) throws -> [ModelStreamEvent] {
        if event.data.isEmpty { return [] }
        let json: JSONValue
        do {
            json = try JSONCoding.decode(JSONValue.self, from: event.data)
        } catch {
            throw ModelError(.invalidResponse, "an event of the stream is not JSON: \(event.data.prefix(200))")
        }
        let type = json["type"]?.stringValue ?? event.event
        switch type {
        case "message_start":
            started = true
            let message = json["message"]
            model = message?["model"]?.stringValue ?? model
            AnthropicWire.update(&usage, from: message?["usage"])
            return []
        case "content_block_start":
            let index = try self.index(json)
            guard let block = json["content_block"], let blockType = block["type"]?.stringValue else {
                throw ModelError(.invalidResponse, "content_block_start without a content_block")
            }
            var partial = PartialBlock(type: blockType, raw: block)
            switch blockType {
            case "text":
                partial.text = block["text"]?.stringValue ?? ""
            case "thinking":
                partial.text = block["thinking"]?.stringValue ?? ""
                partial.signature = block["signature"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            case "tool_use":
                partial.id = block["id"]?.stringValue ?? ""
                partial.name = block["name"]?.stringValue ?? ""
                partial.initialInput = block["input"] ?? .object([:])
            default:
                break
            }
            blocks[index] = partial
            var progress: [ModelStreamEvent] = []
            if blockType == "thinking" { progress.append(.thinkingStarted(index: index)) }
            if blockType == "text", !partial.text.isEmpty { progress.append(.textDelta(index: index, text: partial.text)) }
            return progress
        case "content_block_delta":
            let index = try self.index(json)
            guard var block = blocks[index] else {
                throw ModelError(.invalidResponse, "content_block_delta for block \(index), which never started")
            }
            let delta = json["delta"]
            var progress: [ModelStreamEvent] = []
            switch delta?["type"]?.stringValue {
            case "text_delta":
                let text = delta?["text"]?.stringValue ?? ""
                block.text += text
                if !text.isEmpty { progress.append(.textDelta(index: index, text: text)) }
            case "input_json_delta":
                block.inputJSON += delta?["partial_json"]?.stringValue ?? ""
            case "thinking_delta":
                block.text += delta?["thinking"]?.stringValue ?? ""
            case "signature_delta":
                block.signature = (block.signature ?? "") + (delta?["signature"]?.stringValue ?? "")
            default:
                break  // citations_delta and future delta types carry nothing Reverie models
            }
            blocks[index] = block
            return progress
        case "content_block_stop":
            let index = try self.index(json)
            blocks[index]?.finished = true
            return []
        case "message_delta":
            if let reason = json["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
            AnthropicWire.update(&usage, from: json["usage"])
            return []
        case "message_stop":
            stopped = true
            return []
        case "ping":
            return []
        case "error":
            let error = json["error"]
            throw ModelError.fromErrorType(error?["type"]?.stringValue, message: error?["message"]?.stringValue)
        default:
            return []
        }
    }

    /// The complete reply; throws `.truncated` unless `message_stop` arrived.
    func response() throws -> ModelResponse {
        guard started else { throw ModelError(.truncated, "the stream ended before message_start") }
        guard stopped else { throw ModelError(.truncated, "the stream ended before message_stop") }
        var content: [ContentBlock] = []
        for index in blocks.keys.sorted() {
            guard let block = blocks[index] else { continue }
            switch block.type {
            case "text":
                content.append(.text(block.text))
            case "thinking":
                content.append(.thinking(text: block.text, signature: block.signature))
            case "tool_use":
                content.append(.toolUse(id: block.id, name: block.name, input: try Self.input(block)))
            default:
                content.append(.media(block.raw))
            }
        }
        return ModelResponse(content: content, stopReason: AnthropicWire.stopReason(stopReason), usage: usage, model: model)
    }

    private static func input(_ block: PartialBlock) throws -> JSONValue {
        let text = block.inputJSON.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return block.initialInput }
        do {
            return try JSONCoding.decode(JSONValue.self, from: text)
        } catch {
            throw ModelError(.invalidResponse, "the input of tool call \(block.id) (\(block.name)) is not valid JSON")
        }
    }

    private func index(_ json: JSONValue) throws -> Int {
        guard let index = json["index"]?.intValue, index >= 0 else { throw ModelError(.invalidResponse, "a stream event lacks its index") }
        return Int(index)
    }
}
