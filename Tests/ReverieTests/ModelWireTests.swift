import Foundation
import NIOHTTP1
import ReverieCore
@testable import ReverieModels
import Testing

@Suite("Model wire details", .timeLimit(.minutes(3)))
struct ModelWireTests {
    @Test func sseParserHandlesSplitChunksAndLineEndings() {
        let stream = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\nevent: delta\ndata: line one\ndata: line two\n\nevent: x\rdata: y\r\r"
        let bytes = Array(stream.utf8)
        for split in [1, 2, 3, 7, bytes.count] {
            var parser = ServerSentEventParser()
            var events: [ServerSentEvent] = []
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + split)
                events += parser.feed(bytes[index..<end])
                index = end
            }
            #expect(
                events == [
                    ServerSentEvent(event: "message_start", data: #"{"a":1}"#), ServerSentEvent(event: "delta", data: "line one\nline two"),
                    ServerSentEvent(event: "x", data: "y"),
                ], "split \(split)")
        }
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array("data: tail".utf8)).isEmpty)
        #expect(parser.finish() == ServerSentEvent(event: "", data: "tail"))
    }

    @Test func retryAfterParsesSecondsDatesAndMilliseconds() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.seconds("12", now: now) == 12)
        #expect(RetryAfter.seconds("1.5", now: now) == 1.5)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:47 GMT", now: now) == 10)
        #expect(RetryAfter.seconds("Sun, 06 Nov 1994 08:49:27 GMT", now: now) == 0)
        #expect(RetryAfter.seconds("soon", now: now) == nil)
        #expect(RetryAfter.seconds("-3", now: now) == nil)
        #expect(RetryAfter.seconds(headers: HTTPHeaders([("retry-after-ms", "250"), ("retry-after", "9")])) == 0.25)
    }

    @Test func statusCodesClassify() {
        func kind(_ status: Int, _ body: String = "") -> ModelError.Kind {
            ModelError.fromHTTP(status: status, headers: [:], body: Data(body.utf8)).kind
        }
        #expect(kind(429) == .rateLimited)
        #expect(kind(529) == .overloaded)
        #expect(kind(503, #"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#) == .overloaded)
        #expect(kind(500) == .serverError)
        #expect(kind(502) == .serverError)
        #expect(kind(408) == .timeout)
        #expect(kind(401) == .authentication)
        #expect(kind(403) == .authentication)
        #expect(kind(400) == .invalidRequest)
        #expect(kind(404) == .invalidRequest)
        #expect(kind(422) == .invalidRequest)
        let error = ModelError.fromHTTP(status: 400, headers: [:], body: Data(#"{"error":{"message":"bad tools","type":"invalid_request_error"}}"#.utf8))
        #expect(error.message == "bad tools")
    }

    @Test func anthropicStreamWithoutMessageStopIsTruncated() throws {
        var accumulator = AnthropicStreamAccumulator()
        _ = try accumulator.apply(ServerSentEvent(event: "message_start", data: #"{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}"#))
        _ = try accumulator.apply(
            ServerSentEvent(event: "content_block_start", data: #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#))
        #expect(throws: ModelError(.truncated, "the stream ended before message_stop")) { try accumulator.response() }
        #expect(throws: ModelError(.truncated, "the stream ended before message_start")) { try AnthropicStreamAccumulator().response() }
    }

    @Test func openAIArgumentsThatAreNotJSONAreKept() {
        #expect(OpenAIWire.input(fromArguments: #"{"a": 1}"#) == ["a": 1])
        #expect(OpenAIWire.input(fromArguments: "") == [:])
        #expect(OpenAIWire.input(fromArguments: "{broken") == ["_raw_arguments": "{broken"])
    }

    @Test func openAIImagesBecomeImageURLParts() {
        let image: JSONValue = ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "QUJD"]]
        let messages = OpenAIWire.messages(ModelMessage(role: .user, content: [.text("what is this?"), .media(image)]))
        #expect(
            messages == [
                [
                    "role": "user",
                    "content": [["type": "text", "text": "what is this?"], ["type": "image_url", "image_url": ["url": "data:image/png;base64,QUJD"]]],
                ]
            ])
    }
}
