import Foundation
import Testing
@testable import ReverieCore
@testable import ReverieServer

@Suite(.timeLimit(.minutes(3))) struct EventStreamTests {
    func send(_ server: TestServer, _ id: String, _ text: String) async throws -> String {
        let reply = try await server.post(
            "/v1/sessions/\(id)/events", ["events": [["type": "user.message", "content": [["type": "text", "text": .string(text)]]]]])
        return try #require(reply.json["data"]?[0]?["id"]?.stringValue)
    }

    @Test func streamsNewEventsLive() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession(initialText: "before the stream")
            let stream = try await SSEReader.open(server, sessionID: id)
            #expect(stream.status == 200)
            let sent = try await send(server, id, "live")
            let frame = try #require(try await stream.next())
            #expect(frame.event == "user.message")
            #expect(frame.id == sent)
            let event = try SessionEvent(json: frame.data)
            #expect(event.text == "live")
        }, thenStop: server.stop)
    }

    @Test func resumesAfterLastEventID() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession()
            let first = try await send(server, id, "one")
            let second = try await send(server, id, "two")
            let third = try await send(server, id, "three")
            let stream = try await SSEReader.open(server, sessionID: id, lastEventID: first)
            #expect(try await stream.next()?.id == second)
            #expect(try await stream.next()?.id == third)
            let fourth = try await send(server, id, "four")
            #expect(try await stream.next()?.id == fourth)
            let unknown = try await SSEReader.open(server, sessionID: id, lastEventID: "sevt_unknown")
            #expect(unknown.status == 400)
        }, thenStop: server.stop)
    }

    @Test func sendsHeartbeats() async throws {
        let server = try await TestServer.start { $0.server.heartbeatSeconds = 0.2 }
        try await run({
            let id = try await server.makeSession()
            let stream = try await SSEReader.open(server, sessionID: id)
            #expect(try await stream.next(includePings: true)?.event == "ping")
            #expect(try await stream.next(includePings: true)?.event == "ping")
        }, thenStop: server.stop)
    }

    @Test func manySubscribersSeeEveryEventInOrder() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession()
            var streams: [SSEReader] = []
            for _ in 0..<20 { streams.append(try await SSEReader.open(server, sessionID: id)) }
            var sent: [String] = []
            for index in 0..<30 { sent.append(try await send(server, id, "m\(index)")) }
            for stream in streams {
                var received: [String] = []
                while received.count < sent.count, let frame = try await stream.next() { received.append(frame.id ?? "") }
                #expect(received == sent)
            }
        }, thenStop: server.stop)
    }

    /// A reader that reads nothing while 200 events of 8 KiB (1.6 MiB, well past the socket
    /// buffers) are appended, then reads while 200 more are appended, gets every event exactly
    /// once and in order: the server catches a slow reader up instead of dropping events.
    @Test func aSlowReaderCatchesUpWhileEventsAreAppended() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession()
            let stream = try await SSEReader.open(server, sessionID: id)
            let filler = String(repeating: "x", count: 8 * 1024)
            var sent: [String] = []
            for index in 0..<200 { sent.append(try await send(server, id, "early-\(index) \(filler)")) }
            let writer = Task {
                var more: [String] = []
                for index in 0..<200 { more.append(try await send(server, id, "late-\(index) \(filler)")) }
                return more
            }
            var received: [String] = []
            while received.count < 400, let frame = try await stream.next() { received.append(frame.id ?? "") }
            sent += try await writer.value
            #expect(received.count == 400)
            #expect(received == sent)
        }, thenStop: server.stop)
    }

    @Test func unknownSessionIs404() async throws {
        let server = try await TestServer.start()
        try await run({
            let stream = try await SSEReader.open(server, sessionID: "sesn_missing")
            #expect(stream.status == 404)
        }, thenStop: server.stop)
    }

    @Test func deletingTheSessionEndsItsStreams() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession()
            let stream = try await SSEReader.open(server, sessionID: id)
            #expect(try await server.request(.DELETE, "/v1/sessions/\(id)").status == 200)
            #expect(try await stream.next() == nil)
        }, thenStop: server.stop)
    }
}
