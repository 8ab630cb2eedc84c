import Foundation
import Testing
@testable import ReverieCore
@testable import ReverieRuntime
@testable import ReverieServer

@Suite(.timeLimit(.minutes(3))) struct APIServerTests {
    @Test func requiresAnAPIKey() async throws {
        let server = try await TestServer.start()
        try await run({
            let missing = try await server.request(.GET, "/v1/agents", headers: [])
            #expect(missing.status == 401)
            #expect(missing.errorType == "authentication_error")
            #expect(missing.json["type"] == "error")
            let wrong = try await server.request(.GET, "/v1/agents", headers: [("x-api-key", "nope")])
            #expect(wrong.status == 401)
            let bearer = try await server.request(.GET, "/v1/agents", headers: [("authorization", "Bearer \(TestServer.apiKey)")])
            #expect(bearer.status == 200)
            let health = try await server.request(.GET, "/health", headers: [])
            #expect(health.status == 200)
        }, thenStop: server.stop)
    }

    /// With no key cache, a revoked key is refused on the very next request.
    @Test func storedKeysAuthenticateUntilRevoked() async throws {
        let server = try await TestServer.start { $0.server.apiKeyCacheLifetime = .zero }
        try await run({
            let (record, secret) = APIKeyRecord.generate(name: "ci")
            try await server.host.store.createAPIKey(record)
            #expect(try await server.request(.GET, "/v1/agents", headers: [("x-api-key", secret)]).status == 200)
            #expect(try await server.host.store.revokeAPIKey(id: record.id))
            #expect(try await server.request(.GET, "/v1/agents", headers: [("x-api-key", secret)]).status == 401)
        }, thenStop: server.stop)
    }

    /// A verified key is cached for the configured lifetime: revoking it in the store is not
    /// seen until the cache entry expires (the default lifetime is 5 s).
    @Test func verifiedKeysAreCachedForTheirLifetime() async throws {
        #expect(ServerConfiguration().apiKeyCacheLifetime == .seconds(5))
        let server = try await TestServer.start { $0.server.apiKeyCacheLifetime = .seconds(3600) }
        try await run({
            let (record, secret) = APIKeyRecord.generate(name: "ci")
            try await server.host.store.createAPIKey(record)
            #expect(try await server.request(.GET, "/v1/agents", headers: [("x-api-key", secret)]).status == 200)
            #expect(try await server.host.store.revokeAPIKey(id: record.id))
            #expect(try await server.request(.GET, "/v1/agents", headers: [("x-api-key", secret)]).status == 200)
            // A key never verified before is looked up, so its revocation shows at once.
            let (other, otherSecret) = APIKeyRecord.generate(name: "other")
            try await server.host.store.createAPIKey(other)
            #expect(try await server.host.store.revokeAPIKey(id: other.id))
            #expect(try await server.request(.GET, "/v1/agents", headers: [("x-api-key", otherSecret)]).status == 401)
        }, thenStop: server.stop)
    }

    @Test func badInputGetsTheErrorEnvelope() async throws {
        let server = try await TestServer.start { $0.server.maxBodyBytes = 1024 }
        try await run({
            let malformed = try await server.request(.POST, "/v1/agents", rawBody: Data("{nope".utf8))
            #expect(malformed.status == 400)
            #expect(malformed.errorType == "invalid_request_error")
            let tooBig = try await server.post("/v1/agents", ["name": .string(String(repeating: "x", count: 4096)), "model": "m"])
            #expect(tooBig.status == 413)
            #expect(tooBig.errorType == "request_too_large")
            let missingField = try await server.post("/v1/agents", ["name": "a"])
            #expect(missingField.status == 400)
            #expect(missingField.json["error"]?["message"]?.stringValue == "model: required")
            let unknown = try await server.get("/v1/agents/agent_nope")
            #expect(unknown.status == 404)
            #expect(unknown.errorType == "not_found_error")
            let route = try await server.get("/v1/nothing-here")
            #expect(route.status == 404)
            #expect(route.headers.first(name: "request-id") != nil)
            let badLimit = try await server.get("/v1/agents?limit=0")
            #expect(badLimit.status == 400)
            let badCursor = try await server.get("/v1/agents?page=garbage")
            #expect(badCursor.status == 400)
        }, thenStop: server.stop)
    }

    @Test func agentUpdatesVersionOnlyOnChange() async throws {
        let server = try await TestServer.start()
        try await run({
            let created = try await server.post("/v1/agents", ["name": "a", "model": "m", "system": "one"])
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["version"] == 1)
            let same = try await server.post("/v1/agents/\(id)", ["system": "one"])
            #expect(same.json["version"] == 1)
            let changed = try await server.post("/v1/agents/\(id)", ["system": "two", "version": 1])
            #expect(changed.json["version"] == 2)
            let stale = try await server.post("/v1/agents/\(id)", ["system": "three", "version": 1])
            #expect(stale.status == 409)
            #expect(try await server.get("/v1/agents/\(id)?version=1").json["system"] == "one")
            let archived = try await server.post("/v1/agents/\(id)/archive", [:])
            #expect(archived.json["archived_at"]?.stringValue != nil)
            #expect(try await server.post("/v1/agents/\(id)", ["system": "x"]).status == 400)
            #expect(try await server.get("/v1/agents").json["data"]?.arrayValue?.count == 0)
            #expect(try await server.get("/v1/agents?include_archived=true").json["data"]?.arrayValue?.count == 1)
        }, thenStop: server.stop)
    }

    @Test func coordinatorRosterIsValidated() async throws {
        let server = try await TestServer.start()
        try await run({
            let worker = try #require(try await server.post("/v1/agents", ["name": "w", "model": "m"]).json["id"]?.stringValue)
            let lead = try await server.post(
                "/v1/agents", ["name": "lead", "model": "m", "multiagent": ["type": "coordinator", "agents": [.string(worker), ["type": "self"]]]])
            let leadID = try #require(lead.json["id"]?.stringValue)
            #expect(lead.json["multiagent"]?["agents"]?[0]?["version"] == 1)
            #expect(lead.json["multiagent"]?["agents"]?[1]?["id"]?.stringValue == leadID)
            let nested = try await server.post(
                "/v1/agents", ["name": "x", "model": "m", "multiagent": ["type": "coordinator", "agents": [.string(leadID)]]])
            #expect(nested.status == 400)
            let duplicate = try await server.post(
                "/v1/agents", ["name": "x", "model": "m", "multiagent": ["type": "coordinator", "agents": [.string(worker), .string(worker)]]])
            #expect(duplicate.status == 400)
            let empty = try await server.post("/v1/agents", ["name": "x", "model": "m", "multiagent": ["type": "coordinator", "agents": []]])
            #expect(empty.status == 400)
        }, thenStop: server.stop)
    }

    @Test func sessionLifecycle() async throws {
        let server = try await TestServer.start()
        try await run({
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let created = try await server.post(
                "/v1/sessions",
                [
                    "agent": ["type": "agent", "id": .string(agent), "version": 1], "environment_id": .string(environment), "title": "t",
                    "metadata": ["team": "a"],
                    "initial_events": [["type": "user.message", "content": [["type": "text", "text": "hello"]]]],
                ])
            #expect(created.status == 200)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(created.json["status"] == "idle")
            #expect(created.json["agent"]?["version"] == 1)
            let events = try await server.get("/v1/sessions/\(id)/events")
            #expect(events.json["data"]?[0]?["type"] == "user.message")
            let updated = try await server.post("/v1/sessions/\(id)", ["title": "renamed", "metadata": ["team": nil, "x": "y"]])
            #expect(updated.json["title"] == "renamed")
            #expect(updated.json["metadata"] == ["x": "y"])
            // A running session cannot be deleted.
            try await server.platform.log.append([SessionEvent(type: .sessionStatusRunning)], to: id)
            let refused = try await server.request(.DELETE, "/v1/sessions/\(id)")
            #expect(refused.status == 409)
            try await server.platform.log.append([SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]])], to: id)
            let archived = try await server.post("/v1/sessions/\(id)/archive", [:])
            #expect(archived.json["archived_at"]?.stringValue != nil)
            let readOnly = try await server.post(
                "/v1/sessions/\(id)/events", ["events": [["type": "user.message", "content": [["type": "text", "text": "x"]]]]])
            #expect(readOnly.status == 400)
            let deleted = try await server.request(.DELETE, "/v1/sessions/\(id)")
            #expect(deleted.json == ["id": .string(id), "type": "session_deleted"])
            #expect(try await server.get("/v1/sessions/\(id)").status == 404)
        }, thenStop: server.stop)
    }

    @Test func sessionsListFiltersAndPages() async throws {
        let server = try await TestServer.start()
        try await run({
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            var ids: [String] = []
            for _ in 0..<5 {
                let reply = try await server.post("/v1/sessions", ["agent": .string(agent), "environment_id": .string(environment)])
                ids.append(try #require(reply.json["id"]?.stringValue))
            }
            let first = try await server.get("/v1/sessions?limit=2&agent_id=\(agent)")
            #expect(first.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[4], ids[3]])
            #expect(first.json["prev_page"] == .null)
            let token = try #require(first.json["next_page"]?.stringValue)
            let second = try await server.get("/v1/sessions?limit=2&page=\(token)")
            #expect(second.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[2], ids[1]])
            let back = try #require(second.json["prev_page"]?.stringValue)
            let again = try await server.get("/v1/sessions?limit=2&page=\(back)")
            #expect(again.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [ids[4], ids[3]])
            let ascending = try await server.get("/v1/sessions?order=asc&limit=1")
            #expect(ascending.json["data"]?[0]?["id"]?.stringValue == ids[0])
            let idle = try await server.get("/v1/sessions?statuses[]=idle&statuses[]=running")
            #expect(idle.json["data"]?.arrayValue?.count == 5)
            let running = try await server.get("/v1/sessions?statuses%5B%5D=running")
            #expect(running.json["data"]?.arrayValue?.count == 0)
        }, thenStop: server.stop)
    }

    @Test func rejectsEventsTheSessionCannotTake() async throws {
        let server = try await TestServer.start()
        try await run({
            let id = try await server.makeSession()
            let unknown = try await server.post("/v1/sessions/\(id)/events", ["events": [["type": "user.shout"]]])
            #expect(unknown.status == 400)
            #expect(unknown.json["error"]?["message"]?.stringValue?.contains("events[0].type") == true)
            let toolResult = try await server.post(
                "/v1/sessions/\(id)/events", ["events": [["type": "user.tool_result", "tool_use_id": "sevt_x"]]])
            #expect(toolResult.status == 400)
            let outcome: JSONValue = ["type": "user.define_outcome", "description": "d", "rubric": ["type": "text", "content": "r"]]
            #expect(try await server.post("/v1/sessions/\(id)/events", ["events": [outcome]]).status == 200)
            let second = try await server.post("/v1/sessions/\(id)/events", ["events": [outcome]])
            #expect(second.status == 400)
            #expect(try await server.get("/v1/sessions/\(id)").json["outcome_evaluations"]?[0]?["result"] == "pending")
        }, thenStop: server.stop)
    }
}
