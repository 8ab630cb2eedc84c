import Foundation
import NIOHTTP1
import ReverieCore
import ReverieExecution
import ReverieServer

/// A `self_hosted` environment on a test server, with a key, and helpers to act as its worker
/// over real HTTP (or to run real `reverie worker` processes against it).
struct SelfHostedFixture {
    let server: TestServer
    let environmentID: String
    let keyID: String
    let key: String

    static func make(on server: TestServer) async throws -> SelfHostedFixture {
        let environment = try await server.post("/v1/environments", ["name": "workers", "config": ["type": "self_hosted"]])
        guard let environmentID = environment.json["id"]?.stringValue else { throw TestFailure("environment create failed") }
        let key = try await server.post("/v1/environments/\(environmentID)/keys", ["name": "test-worker"])
        guard let secret = key.json["key"]?.stringValue, let keyID = key.json["id"]?.stringValue else {
            throw TestFailure("key create failed: \(String(decoding: key.body, as: UTF8.self))")
        }
        return SelfHostedFixture(server: server, environmentID: environmentID, keyID: keyID, key: secret)
    }

    /// A session of an agent with every built-in tool (`tools` to change them) in this environment.
    func makeSession(tools: JSONValue = fullToolset) async throws -> String {
        let agent = try await server.makeAgent(tools: tools)
        let reply = try await server.post("/v1/sessions", ["agent": .string(agent), "environment_id": .string(environmentID)])
        guard let id = reply.json["id"]?.stringValue else { throw TestFailure("session create failed") }
        return id
    }

    /// A request with `credential` as the bearer (the environment key by default).
    func call(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil, credential: String? = nil) async throws -> TestServer.Reply {
        try await server.request(method, path, json: json, headers: [("authorization", "Bearer \(credential ?? key)")])
    }

    var work: String { "/v1/environments/\(environmentID)/work" }

    /// Polls (blocking up to `blockMilliseconds`) as worker `workerID`.
    func poll(blockMilliseconds: Int = 999, workerID: String = "test-worker") async throws -> JSONValue? {
        let reply = try await server.request(
            .GET, work + "/poll?block_ms=\(blockMilliseconds)", headers: [("authorization", "Bearer \(key)"), ("anthropic-worker-id", workerID)])
        guard reply.status == 200 else { throw TestFailure("poll failed (\(reply.status)): \(String(decoding: reply.body, as: UTF8.self))") }
        if reply.json.isNull { return Optional<JSONValue>.none }
        return reply.json
    }

    /// Whether a poll comes back empty.
    func pollsNothing(blockMilliseconds: Int = 999, workerID: String = "test-worker") async throws -> Bool {
        try await poll(blockMilliseconds: blockMilliseconds, workerID: workerID) == Optional<JSONValue>.none
    }

    /// Polls until an item arrives.
    func claim(workerID: String = "test-worker", timeout: Duration = .seconds(20)) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let item = try await poll(workerID: workerID) { return item }
        }
        throw TestFailure("no work item arrived")
    }

    /// The sessions token in an item's `secret`.
    static func sessionsToken(_ item: JSONValue) -> String? {
        guard var base64 = item["secret"]?.stringValue?.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return (try? JSONCoding.decode(JSONValue.self, from: data))?["sessions_token"]?.stringValue
    }

    /// Answers a call as a worker would.
    func postResult(_ sessionID: String, toolUseID: String, text: String, credential: String? = nil) async throws -> TestServer.Reply {
        try await call(.POST, "/v1/sessions/\(sessionID)/events", json: [
            "events": [["type": "user.tool_result", "tool_use_id": .string(toolUseID), "content": [["type": "text", "text": .string(text)]]]],
        ], credential: credential)
    }

    /// Starts a real `reverie worker` process against this environment.
    func startWorker(dataDirectory: String, concurrency: Int = 2, maxIdle: Double = 0.5) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["REVERIE_ENVIRONMENT_KEY"] = key
        return try ChildProcess.start(
            TestBinaries.reverie,
            arguments: [
                "worker", "--url", server.baseURL, "--environment", environmentID, "--concurrency", "\(concurrency)", "--data-dir", dataDirectory,
                "--max-idle", "\(maxIdle)",
            ], environment: environment)
    }
}
