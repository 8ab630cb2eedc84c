import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// What a live SSE subscriber sees while an agent runs: stored events as they are appended,
/// and (when asked for with `event_deltas`) previews of the `agent.message` being streamed.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RuntimeStreamTests {
    struct Seen {
        var frames: [(kind: String, json: JSONValue)] = []

        /// `event_start` ids, in order.
        var startIDs: [String] { frames.filter { $0.kind == "event_start" }.compactMap { $0.json["event"]?["id"]?.stringValue } }

        /// The text of the deltas previewing event `id`.
        func deltaText(_ id: String) -> String {
            frames.filter { $0.kind == "event_delta" && $0.json["event_id"] == .string(id) }
                .compactMap { $0.json["delta"]?["content"]?["text"]?.stringValue }.joined()
        }

        func index(ofType type: String) -> Int? { frames.firstIndex { $0.kind == "event" && $0.json.eventType == type } }
    }

    /// Reads the session's stream (with `agent.message` previews) until it goes idle.
    func watch(_ server: TestServer, _ session: String, sending text: String) async throws -> Seen {
        let reader = try await SSEReader.open(server, sessionID: session, query: "?event_deltas=agent.message")
        #expect(reader.status == 200)
        try await server.say(session, text)
        var seen = Seen()
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, let frame = try await reader.next() {
            let json = (try? JSONCoding.decode(JSONValue.self, from: frame.data)) ?? .null
            let kind = json["type"] == "event_start" || json["type"] == "event_delta" ? json.eventType : "event"
            seen.frames.append((kind, json))
            if kind == "event", json.eventType == "session.status_idle" { return seen }
        }
        throw TestFailure("the stream did not show the session going idle")
    }

    @Test func previewsStreamLiveAndTheFinalMessageKeepsTheirID() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "talk", "chunk_delay_ms": 5, "reply": "Hello there, this reply is streamed in pieces."}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            let seen = try await watch(server, session, sending: "hi")
            let message = try #require(seen.frames.first { $0.kind == "event" && $0.json.eventType == "agent.message" }?.json)
            let id = try #require(message["id"]?.stringValue)
            #expect(seen.startIDs == [id])
            #expect(seen.deltaText(id) == "Hello there, this reply is streamed in pieces.")
            #expect(seen.frames.count { $0.kind == "event_delta" } > 1)
            // The preview comes first, then the stored event that completes it.
            let start = try #require(seen.frames.firstIndex { $0.kind == "event_start" })
            let stored = try #require(seen.index(ofType: "agent.message"))
            #expect(start < stored)
            #expect(try #require(seen.index(ofType: "span.model_request_start")) < start)
            // The stored log has no previews.
            let events = try await server.events(session)
            #expect(events.ofType("agent.message").map { $0["id"]?.stringValue } == [id])
        }
    }

    @Test func aRetriedReplyStartsANewPreview() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [{"name": "cut", "truncate_stream": true, "fail_times": 1, "chunk_delay_ms": 2,
                        "reply": "The complete answer, streamed again after the retry."}]}
            """)
        try await RuntimeHarness.with(scenario) { harness in
            let server = harness.server
            let session = try await server.makeRuntimeSession()
            let seen = try await watch(server, session, sending: "hi")
            let starts = seen.startIDs
            #expect(starts.count == 2)
            #expect(Set(starts).count == 2, "the second attempt previews a new event")
            let message = try #require(seen.frames.first { $0.kind == "event" && $0.json.eventType == "agent.message" }?.json)
            #expect(message["id"]?.stringValue == starts.last)
            #expect(seen.deltaText(starts.last ?? "") == "The complete answer, streamed again after the retry.")
            #expect(!seen.deltaText(starts.first ?? "").isEmpty)
            // The abandoned preview is followed by the retry notice, then the new preview.
            let error = try #require(seen.index(ofType: "session.error"))
            let secondStart = try #require(seen.frames.lastIndex { $0.kind == "event_start" })
            #expect(error < secondStart)
        }
    }
}
