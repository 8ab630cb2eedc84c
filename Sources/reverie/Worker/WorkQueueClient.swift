import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieModels

/// The HTTP calls a worker makes: the environment's work queue with the environment key, and
/// the session's events with the item's credential (its sessions token, else the key).
struct WorkQueueClient: Sendable {
    let baseURL: String
    let environmentID: String
    let workerID: String
    /// Its connection pool must hold every slot's event stream (open for as long as the slot
    /// serves a session) besides its requests: see `makeHTTPClient`.
    let http: HTTPClient

    /// An HTTP client for `slots` sessions served at once: an event stream and a request each.
    static func makeHTTPClient(slots: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(8, slots * 2 + 4)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A reply that is not a success: its status and the API's error type.
    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var type: String
        var message: String
        var description: String { "\(status) \(type): \(message)" }
        /// A client error that retrying will not fix.
        var isPermanent: Bool { (400..<500).contains(status) && status != 408 && status != 429 }
    }

    func poll(key: String, blockMilliseconds: Int) async throws -> JSONValue? {
        let reply = try await send(.GET, "/v1/environments/\(environmentID)/work/poll?block_ms=\(blockMilliseconds)", credential: key, timeout: .seconds(10))
        // An empty queue answers `null` (not `nil`: JSONValue is itself nil-expressible).
        if reply.isNull { return Optional<JSONValue>.none }
        return reply
    }

    func acknowledge(_ workID: String, key: String) async throws {
        _ = try await send(.POST, "/v1/environments/\(environmentID)/work/\(workID)/ack", credential: key)
    }

    func heartbeat(_ workID: String, expected: String, credential: String) async throws -> JSONValue {
        let query = expected.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expected
        return try await send(
            .POST, "/v1/environments/\(environmentID)/work/\(workID)/heartbeat?expected_last_heartbeat=\(query)", credential: credential, timeout: .seconds(10))
    }

    func stop(_ workID: String, credential: String) async throws {
        _ = try await send(.POST, "/v1/environments/\(environmentID)/work/\(workID)/stop", json: ["force": true], credential: credential)
    }

    /// Every event of the session so far, oldest first.
    func events(sessionID: String, credential: String) async throws -> [JSONValue] {
        var all: [JSONValue] = []
        var page: String?
        repeat {
            var path = "/v1/sessions/\(sessionID)/events?limit=1000"
            if let page { path += "&page=\(page)" }
            let reply = try await send(.GET, path, credential: credential)
            all += reply["data"]?.arrayValue ?? []
            page = reply["next_page"]?.stringValue
        } while page != nil
        return all
    }

    /// The session resource (its memory store resources say what to mount).
    func session(_ sessionID: String, credential: String) async throws -> JSONValue {
        try await send(.GET, "/v1/sessions/\(sessionID)", credential: credential)
    }

    func postResult(sessionID: String, event: JSONValue, credential: String) async throws {
        _ = try await send(.POST, "/v1/sessions/\(sessionID)/events", json: ["events": [event]], credential: credential)
    }

    /// The session's live events (those appended after the stream opened), until the stream ends.
    func stream(sessionID: String, credential: String, onOpen: @Sendable () async throws -> Void, onEvent: @Sendable (JSONValue) async throws -> Void)
        async throws
    {
        var request = HTTPClientRequest(url: baseURL + "/v1/sessions/\(sessionID)/events/stream")
        request.headers.add(name: "authorization", value: "Bearer \(credential)")
        request.headers.add(name: "accept", value: "text/event-stream")
        let response = try await http.execute(request, timeout: .hours(24))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw Self.failure(status: Int(response.status.code), body: Data(buffer: body))
        }
        try await onOpen()
        var parser = ServerSentEventParser()
        for try await chunk in response.body {
            for event in parser.feed(chunk.readableBytesView) where SessionCalls.relevantTypes.contains(event.event) {
                guard let value = try? JSONCoding.decode(JSONValue.self, from: Data(event.data.utf8)) else { continue }
                try await onEvent(value)
            }
        }
    }

    /// A download (a skill version's archive) with `credential`, at most `limit` bytes.
    func download(_ path: String, credential: String, limit: Int = 64 << 20) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "authorization", value: "Bearer \(credential)")
        request.headers.add(name: "anthropic-worker-id", value: workerID)
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = Data(buffer: try await response.body.collect(upTo: limit))
        guard (200..<300).contains(Int(response.status.code)) else { throw Self.failure(status: Int(response.status.code), body: body) }
        return body
    }

    /// One API call with `credential`; a reply outside 2xx throws its `Failure`.
    func send(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, credential: String, timeout: Duration = .seconds(30))
        async throws -> JSONValue
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(credential)")
        request.headers.add(name: "anthropic-worker-id", value: workerID)
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONCoding.data(json)))
        }
        let response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
        let body = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        guard (200..<300).contains(Int(response.status.code)) else { throw Self.failure(status: Int(response.status.code), body: body) }
        return (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null
    }

    private static func failure(status: Int, body: Data) -> Failure {
        let value = (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null
        return Failure(
            status: status, type: value["error"]?["type"]?.stringValue ?? "error", message: value["error"]?["message"]?.stringValue ?? "")
    }
}
