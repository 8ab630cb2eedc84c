import Foundation
import ReverieCore
import ReverieServer
import Testing

/// Hostile and unlucky clients at the HTTP edge: stalled and slow stream subscribers, half-sent
/// requests, declared over-limit bodies, too many connections from one address.
@Suite(.timeLimit(.minutes(3))) struct StreamLimitsTests {
    static let filler = String(repeating: "x", count: 8 * 1024)

    /// Appends `count` events of about 8 KiB each, in batches, through the API.
    func post(_ server: TestServer, _ session: String, count: Int, batch: Int = 50) async throws {
        var sent = 0
        while sent < count {
            let events: [JSONValue] = (0..<min(batch, count - sent)).map { index in
                ["type": "user.message", "content": [["type": "text", "text": .string("event \(sent + index) \(Self.filler)")]]]
            }
            let reply = try await server.post("/v1/sessions/\(session)/events", ["events": .array(events)])
            #expect(reply.status == 200)
            sent += events.count
        }
    }

    /// The event ids of the complete frames in raw SSE bytes.
    func eventIDs(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.components(separatedBy: "\n\n").dropLast().compactMap { frame in
            frame.split(separator: "\n").first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) }
        }
    }

    func streamRequest(_ session: String) -> String {
        "GET /v1/sessions/\(session)/events/stream HTTP/1.1\r\nHost: localhost\r\nx-api-key: \(TestServer.apiKey)\r\n\r\n"
    }

    func waitFor(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    /// Reads a resumed stream until it has delivered `count` events.
    func resume(_ server: TestServer, _ session: String, after lastID: String?, count: Int) async throws -> [String] {
        let reader = try await SSEReader.open(server, sessionID: session, lastEventID: lastID)
        var ids: [String] = []
        while ids.count < count, let frame = try await reader.next() {
            if let id = frame.id { ids.append(id) }
        }
        return ids
    }

    @Test func aStalledSubscriberIsDisconnectedAndResumesWithEveryEvent() async throws {
        let server = try await TestServer.start { configuration in
            configuration.server.connections.writeStallTimeout = .seconds(1)
            configuration.server.streamBufferEvents = 8
        }
        try await run({
            let session = try await server.makeSession()
            let socket = try RawSocket(port: server.port, receiveBuffer: 4096)
            try socket.send(streamRequest(session))
            try await waitFor("the subscription") { server.platform.log.hub.subscriberCount(sessionID: session) == 1 }
            // 2,000 events (16 MiB) while the subscriber reads nothing.
            try await post(server, session, count: 2000)
            try await waitFor("the stalled subscriber to be cut off") { server.platform.log.hub.subscriberCount(sessionID: session) == 0 }
            let (bytes, closed) = try await socket.readUntilClosed(timeout: .seconds(20))
            #expect(closed)
            let received = eventIDs(bytes)
            #expect(received.count < 2000, "the stall was cut short")
            let rest = try await resume(server, session, after: received.last, count: 2000 - received.count)
            let all = try await server.host.store.events(sessionID: session, after: 0, limit: 5000).map(\.id)
            #expect(received + rest == all, "nothing is missed or repeated across the reconnect")
        }, thenStop: server.stop)
    }

    @Test func aSubscriberTooFarBehindIsToldWhyAndResumes() async throws {
        let server = try await TestServer.start { configuration in
            configuration.server.streamBufferEvents = 8
            configuration.server.streamMaxLagEvents = 100
        }
        try await run({
            let session = try await server.makeSession()
            let socket = try RawSocket(port: server.port, receiveBuffer: 4096)
            try socket.send(streamRequest(session))
            try await waitFor("the subscription") { server.platform.log.hub.subscriberCount(sessionID: session) == 1 }
            // The client pauses while 1,000 events arrive (far more than the buffers hold), then reads.
            try await post(server, session, count: 1000)
            // The response ends (its last chunk) after a comment saying why.
            let bytes = try await socket.readUntil(endsWith: "\r\n0\r\n\r\n", timeout: .seconds(30))
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasSuffix("\r\n0\r\n\r\n"))
            #expect(text.contains(": reverie: disconnected because this stream fell more than 100 events behind the log"))
            let received = eventIDs(bytes)
            if let last = received.last { #expect(text.contains("Last-Event-ID: \(last)")) }
            let rest = try await resume(server, session, after: received.last, count: 1000 - received.count)
            let all = try await server.host.store.events(sessionID: session, after: 0, limit: 5000).map(\.id)
            #expect(received + rest == all)
        }, thenStop: server.stop)
    }

    @Test func halfSentRequestsAreClosedAndDoNotStopOthers() async throws {
        let server = try await TestServer.start { configuration in
            configuration.server.connections.headTimeout = .seconds(1)
            configuration.server.connections.maxConnectionsPerAddress = 400
        }
        try await run({
            // 1,000 connections from another address, each sending half a request head.
            var sockets: [RawSocket] = []
            for _ in 0..<1000 {
                let socket = try RawSocket(port: server.port, source: "127.0.0.2")
                try? socket.send("POST /v1/agents HTTP/1.1\r\nHost: localhost\r\nContent-Le")
                sockets.append(socket)
            }
            // Meanwhile, normal requests are served.
            for _ in 0..<20 { #expect(try await server.get("/v1/agents").status == 200) }
            // Within the head timeout (plus slack) every one of them is closed: the 400 allowed
            // ones by the timeout, the rest at once by the per-address cap.
            try await waitFor("the half-sent connections to be closed", timeout: .seconds(15)) {
                sockets.allSatisfy { $0.isClosedByPeer() }
            }
            #expect(try await server.get("/v1/agents").status == 200)
        }, thenStop: server.stop)
    }

    @Test func aDeclaredOverLimitBodyIsRefusedBeforeItIsRead() async throws {
        let server = try await TestServer.start()
        try await run({
            let socket = try RawSocket(port: server.port)
            let started = ContinuousClock.now
            try socket.send("POST /v1/agents HTTP/1.1\r\nHost: localhost\r\nx-api-key: \(TestServer.apiKey)\r\ncontent-type: application/json\r\nContent-Length: 100000000\r\n\r\n{}")
            let (bytes, closed) = try await socket.readUntilClosed(timeout: .seconds(10))
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 413"), "\(text)")
            #expect(text.contains("request_too_large"))
            #expect(closed, "the rest of that body will not be read, so the connection is closed")
            #expect(ContinuousClock.now - started < .seconds(5))
        }, thenStop: server.stop)
    }

    @Test func oneAddressMayHoldOnlySoManyConnections() async throws {
        let server = try await TestServer.start { configuration in
            configuration.server.connections.maxConnectionsPerAddress = 5
        }
        try await run({
            var held: [RawSocket] = []
            for _ in 0..<5 {
                // Each one served a request, so the server has counted it before the next connects
                // (connections are set up on several event loops, in no guaranteed order).
                let socket = try RawSocket(port: server.port, source: "127.0.0.3")
                try socket.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
                let reply = try await socket.readUntil(endsWith: #"{"status":"ok"}"#, timeout: .seconds(10))
                #expect(String(decoding: reply, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
                held.append(socket)
            }
            let extra = try RawSocket(port: server.port, source: "127.0.0.3")
            try await waitFor("the sixth connection to be closed", timeout: .seconds(15)) { extra.isClosedByPeer() }
            #expect(!held.contains { $0.isClosedByPeer() })
            // Other addresses are unaffected.
            #expect(try await server.get("/v1/agents").status == 200)
            held.removeAll()
        }, thenStop: server.stop)
    }
}
