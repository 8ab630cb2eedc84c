import Foundation
import ReverieCore

/// Builds a `ModelResponse` from a streamed chat completion (`data: {chunk}` … `data: [DONE]`).
/// A stream that ends before `[DONE]` is `ModelError(.truncated)`.
struct OpenAIStreamAccumulator: Sendable {
    private struct PartialCall: Sendable {
        var id = ""
        var name = ""
        var arguments = ""
    }

    private var reasoning = ""
    private var text = ""
    private var calls: [Int: PartialCall] = [:]
    private var finishReason: String?
    private var usage = TokenUsage()
    private var model = ""
    private var done = false

    mutating func apply(_ event: ServerSentEvent) throws -> [ModelStreamEvent] {
        let data = event.data.trimmingCharacters(in: .whitespaces)
        if data.isEmpty { return [] }
        if data == "[DONE]" {
            done = true
            return []
        }
        let json: JSONValue
        do {
            json = try JSONCoding.decode(JSONValue.self, from: data)
        } catch {
            throw ModelError(.invalidResponse, "a chunk of the stream is not JSON: \(data.prefix(200))")
        }
        if let error = json["error"] {
            throw ModelError.fromErrorType(error["type"]?.stringValue, message: error["message"]?.stringValue)
        }
        if let name = json["model"]?.stringValue { model = name }
        if let usage = json["usage"], usage.objectValue != nil { self.usage = OpenAIWire.usage(usage) }
        var progress: [ModelStreamEvent] = []
        for choice in json["choices"]?.arrayValue ?? [] {
            if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
            guard let delta = choice["delta"] else { continue }
            if let piece = delta["reasoning_content"]?.stringValue ?? delta["reasoning"]?.stringValue, !piece.isEmpty {
                if reasoning.isEmpty { progress.append(.thinkingStarted(index: 0)) }
                reasoning += piece
            }
            if let piece = delta["content"]?.stringValue, !piece.isEmpty {
                text += piece
                progress.append(.textDelta(index: reasoning.isEmpty ? 0 : 1, text: piece))
            }
            for call in delta["tool_calls"]?.arrayValue ?? [] {
                let index = Int(call["index"]?.intValue ?? Int64(calls.count))
                var partial = calls[index] ?? PartialCall()
                if let id = call["id"]?.stringValue, !id.isEmpty { partial.id = id }
                if let name = call["function"]?["name"]?.stringValue, !name.isEmpty { partial.name = name }
                partial.arguments += call["function"]?["arguments"]?.stringValue ?? ""
                calls[index] = partial
            }
        }
        return progress
    }

    func response() throws -> ModelResponse {
        guard done else { throw ModelError(.truncated, "the stream ended before [DONE]") }
        var content: [ContentBlock] = []
        if !reasoning.isEmpty { content.append(.thinking(text: reasoning, signature: nil)) }
        if !text.isEmpty { content.append(.text(text)) }
        for index in calls.keys.sorted() {
            guard let call = calls[index] else { continue }
            guard !call.name.isEmpty else { throw ModelError(.invalidResponse, "streamed tool call \(index) has no name") }
            content.append(.toolUse(id: call.id.isEmpty ? "call_\(index)" : call.id, name: call.name, input: OpenAIWire.input(fromArguments: call.arguments)))
        }
        return ModelResponse(
            content: content, stopReason: OpenAIWire.stopReason(finishReason, sawToolCall: !calls.isEmpty), usage: usage, model: model)
    }
}
