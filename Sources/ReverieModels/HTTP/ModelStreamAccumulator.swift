import AsyncHTTPClient

/// Builds a reply from a provider's Server-Sent Events stream, one event at a time.
protocol ModelStreamAccumulator {
    init()
    /// Applies one event, returning the progress to report.
    mutating func apply(_ event: ServerSentEvent) throws -> [ModelStreamEvent]
    /// The whole reply, once the stream ended (an unfinished stream is `ModelError(.truncated)`).
    func response() throws -> ModelResponse
}

extension ModelStreamAccumulator {
    /// Reads a streamed reply body to its end, reporting progress through `onEvent`.
    static func read(_ response: HTTPClientResponse, onEvent: @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        var accumulator = Self()
        var parser = ServerSentEventParser()
        for try await chunk in response.body {
            for event in parser.feed(chunk.readableBytesView) {
                for progress in try accumulator.apply(event) { await onEvent(progress) }
            }
        }
        if let event = parser.finish() {
            for progress in try accumulator.apply(event) { await onEvent(progress) }
        }
        return try accumulator.response()
    }
}

extension AnthropicStreamAccumulator: ModelStreamAccumulator {}
extension OpenAIStreamAccumulator: ModelStreamAccumulator {}
