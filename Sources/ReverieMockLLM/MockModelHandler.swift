import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ServiceLifecycle

/// Answers `POST /v1/messages` and `POST /v1/chat/completions` from the scenario.
struct MockModelHandler: Sendable {
    let state: MockLLMState
    let maxBodyBytes: Int

    private struct Interrupted: Error {}

    func respond(api: MockAPI, request: Request) async throws -> Response {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        let bytes = buffer.readableBytes
        let body = (try? JSONCoding.decode(JSONValue.self, from: Data(buffer.readableBytesView))) ?? .null
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.path, headers: headers, body: body, receivedAt: Date())
        let problem: String?
        switch api {
        case .anthropic:
            problem = headers["anthropic-version"] == nil ? "anthropic-version: header is required" : MockAnthropicWire.validate(body)
        case .openai:
            problem = MockOpenAIWire.validate(body)
        }
        if let problem {
            await state.record(recorded)
            return failure(api: api, status: 400, message: problem, retryAfter: nil)
        }
        let conversation = MockConversation(api: api, body: body)
        let plan = await state.plan(conversation, request: recorded)
        if let gate = plan.step.hold { try await cancelWhenGracefulShutdown { try await state.pass(gate) } }
        let latency = plan.step.latencyMs ?? plan.defaults.latencyMs
        if latency > 0 { try await Self.pause(milliseconds: latency) }
        if plan.failing, let status = plan.step.failWith {
            return failure(api: api, status: status, message: plan.step.errorMessage, retryAfter: plan.step.retryAfter)
        }
        var cache = MockPromptCache.Lookup(readBytes: 0, writtenBytes: 0)
        if api == .anthropic {
            let breakpoints = MockPromptCache.breakpoints(body)
            if !breakpoints.isEmpty { cache = await state.lookUpPromptCache(breakpoints) }
        }
        let reply = MockReply(
            step: plan.step, conversation: conversation, defaults: plan.defaults, serial: plan.serial, requestBytes: bytes, promptCache: cache)
        let truncate = plan.failing && plan.step.truncateStream
        let streamError = plan.failing ? plan.step.streamError : nil
        let chunkDelay = plan.step.chunkDelayMs ?? plan.defaults.chunkDelayMs
        let created = Int64(Date().timeIntervalSince1970)
        switch (api, conversation.stream) {
        case (.anthropic, true):
            let (events, firstDeltaEnd) = MockAnthropicWire.events(reply)
            var frames = events.map { Self.frame(event: $0.0, data: $0.1) }
            if let streamError {
                frames = Array(frames.prefix(firstDeltaEnd))
                frames.append(
                    Self.frame(event: "error", data: MockAnthropicWire.error(type: streamError, message: plan.step.errorMessage ?? "injected stream error")))
            } else if truncate {
                frames = Array(frames.prefix(firstDeltaEnd))
            }
            return stream(frames, chunkDelayMs: chunkDelay)
        case (.openai, true):
            let includeUsage = conversation.includeUsage
            let (chunks, firstDeltaEnd) = MockOpenAIWire.chunks(reply, created: created, includeUsage: includeUsage)
            var frames = chunks.map { Self.frame(event: nil, data: $0) }
            if truncate {
                frames = Array(frames.prefix(firstDeltaEnd))
            } else {
                frames.append(ByteBuffer(string: "data: [DONE]\n\n"))
            }
            return stream(frames, chunkDelayMs: chunkDelay)
        case (.anthropic, false), (.openai, false):
            let json = api == .anthropic ? MockAnthropicWire.message(reply) : MockOpenAIWire.completion(reply, created: created)
            let text = (try? JSONCoding.string(json)) ?? "{}"
            guard truncate else { return MockResponse.json(json) }
            // Send half of the body, then drop the connection.
            let half = ByteBuffer(string: String(text.prefix(text.count / 2)))
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody { writer in
                    try await writer.write(half)
                    throw Interrupted()
                })
        }
    }

    private func stream(_ frames: [ByteBuffer], chunkDelayMs: Int) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                for (index, frame) in frames.enumerated() {
                    if chunkDelayMs > 0, index > 0 { try await Self.pause(milliseconds: chunkDelayMs) }
                    try await writer.write(frame)
                }
                try await writer.finish(nil)
            })
    }

    private func failure(api: MockAPI, status: Int, message: String?, retryAfter: Double?) -> Response {
        var headers: HTTPFields = [:]
        if let retryAfter {
            headers[.retryAfter] = retryAfter == retryAfter.rounded() ? String(Int(retryAfter)) : String(retryAfter)
        }
        let json: JSONValue
        switch api {
        case .anthropic:
            let type = MockAnthropicWire.errorType(status: status)
            json = MockAnthropicWire.error(type: type, message: message ?? "injected \(type) (HTTP \(status))")
        case .openai:
            let type = MockOpenAIWire.errorType(status: status)
            json = MockOpenAIWire.error(type: type, message: message ?? "injected \(type) (HTTP \(status))")
        }
        return MockResponse.json(json, status: HTTPResponse.Status(code: status), headers: headers)
    }

    /// A scripted wait that ends early (throwing) when the server shuts down, so a graceful
    /// shutdown never waits out a long `latency_ms`.
    static func pause(milliseconds: Int) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(milliseconds)) }
    }

    static func frame(event: String?, data: JSONValue) -> ByteBuffer {
        var text = ""
        if let event { text += "event: \(event)\n" }
        text += "data: \((try? JSONCoding.string(data)) ?? "{}")\n\n"
        return ByteBuffer(string: text)
    }
}
