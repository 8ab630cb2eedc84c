import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// Scheduled dreams: a store's policy dreams over the sessions that used it, evaluates the
/// result, and promotes it only when it is not worse.
@Suite(.timeLimit(.minutes(3))) struct DreamPolicyTests {
    static let lessonText = "In this repo we always run ./scripts/test.sh, never pytest directly."

    /// The evaluation scenario's agent and grader, plus a dreamer that proposes the lesson.
    static func scenario() throws -> MockScenario {
        var scenario = try EvaluationTests.scenario()
        let extract = MockRule(name: "extract", systemContains: "propose lessons", MockStep(reply: [.toolUse(name: "record_lessons", input: [
            "candidates": [["kind": "preference", "text": .string(Self.lessonText), "evidence": [["session": "S1", "events": ["e1"]]]]],
        ])]))
        let curate = MockRule(name: "curate", systemContains: "You maintain a memory store", MockStep(reply: [.toolUse(name: "propose_operations", input: [
            "operations": [[
                "op": "add", "path": "/lessons/testing.md", "content": .string(Self.lessonText), "rationale": "every answer without it failed",
                "evidence": [["session": "S1", "events": ["{{match:S1: (sevt_[0-9A-Za-z]+)}}"]]],
            ]],
        ])]))
        scenario.rules.insert(contentsOf: [extract, curate], at: 0)
        return scenario
    }

    static func start() async throws -> RuntimeHarness {
        try await RuntimeHarness.start(try scenario()) { configuration in
            configuration.dreams.policyCheckInterval = .milliseconds(100)
        }
    }

    /// A session of `agent` working on a task with `store` mounted, as users' sessions do.
    func work(_ server: TestServer, agent: String, environment: String, store: String, task: Int) async throws -> String {
        let reply = try await server.post("/v1/sessions", [
            "agent": .string(agent), "environment_id": .string(environment),
            "resources": [["type": "memory_store", "memory_store_id": .string(store)]],
            "initial_events": [[
                "type": "user.define_outcome", "description": .string("How do I run the tests for part \(task)?"),
                "rubric": ["type": "text", "content": "- Names the repo's own test script"], "max_iterations": 1,
            ]],
        ])
        let id = try #require(reply.json["id"]?.stringValue, "\(reply.text)")
        _ = try await server.waitForIdle(id, timeout: .seconds(30))
        return id
    }

    func waitForResult(_ server: TestServer, store: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            let policy = try await server.get("/v1/memory_stores/\(store)/dream_policy").json
            if policy["state"]?["last_result"]?.stringValue != nil { return policy }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("the dream policy of \(store) did not finish a cycle")
    }

    @Test func afterEnoughSessionsItDreamsEvaluatesAndPromotesWhenNotWorse() async throws {
        let harness = try await Self.start()
        try await run({
            let server = harness.server
            let (agent, environment) = try await server.makeAgentAndEnvironment(tools: [["type": "agent_toolset_20260401"]])
            let store = try #require(try await server.post("/v1/memory_stores", ["name": "team"]).json["id"]?.stringValue)
            let put = try await server.request(.PUT, "/v1/memory_stores/\(store)/dream_policy", json: [
                "trigger": ["type": "sessions", "count": 2], "model": "mock-model", "promotion": "if_not_worse",
                "evaluation": [
                    "agent": .string(agent), "environment_id": .string(environment), "tasks": EvaluationTests.tasks(3), "repetitions": 2,
                    "concurrency": 4,
                ],
            ])
            #expect(put.status == 200, "\(put.text)")
            #expect(put.json["trigger"] == ["type": "sessions", "count": 2])

            let first = try await work(server, agent: agent, environment: environment, store: store, task: 1)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await server.get("/v1/dreams").json["data"]?.arrayValue?.isEmpty == true, "one session is not enough")
            let second = try await work(server, agent: agent, environment: environment, store: store, task: 2)

            let policy = try await waitForResult(server, store: store)
            #expect(policy["state"]?["last_result"] == "promoted", "\(policy)")
            #expect(policy["state"]?["last_result_detail"]?.stringValue?.contains("better") == true)
            let dreamID = try #require(policy["state"]?["last_dream_id"]?.stringValue)
            let dream = try await server.get("/v1/dreams/\(dreamID)").json
            let sessions = dream["inputs"]?[1]?["session_ids"]?.arrayValue?.compactMap(\.stringValue)
            #expect(sessions == [first, second])
            // The lesson is now in the store the agent mounts.
            let memories = try await server.get("/v1/memory_stores/\(store)/memories").json["data"]?.arrayValue ?? []
            #expect(memories.compactMap { $0["path"]?.stringValue } == ["/lessons/testing.md"])
            // The evaluation's own sessions (which mounted the store read-only) are never dreamed over.
            for _ in 0..<5 { await harness.server.host.dreamPolicyRunner?.checkAll() }
            #expect(try await server.get("/v1/dreams").json["data"]?.arrayValue?.count == 1)
        }, thenStop: { await harness.stop() })
    }

    @Test func withoutAnEvaluationTheDreamAwaitsReview() async throws {
        let harness = try await Self.start()
        try await run({
            let server = harness.server
            let (agent, environment) = try await server.makeAgentAndEnvironment(tools: [["type": "agent_toolset_20260401"]])
            let store = try #require(try await server.post("/v1/memory_stores", ["name": "team"]).json["id"]?.stringValue)
            let put = try await server.request(.PUT, "/v1/memory_stores/\(store)/dream_policy", json: [
                "trigger": ["type": "sessions", "count": 1], "model": "mock-model",
            ])
            #expect(put.status == 200 && put.json["promotion"] == "review")
            _ = try await work(server, agent: agent, environment: environment, store: store, task: 1)
            let policy = try await waitForResult(server, store: store)
            #expect(policy["state"]?["last_result"] == "awaiting_review")
            #expect(try await server.get("/v1/memory_stores/\(store)/memories").json["data"]?.arrayValue?.isEmpty == true, "nothing promoted")
            let dreamID = try #require(policy["state"]?["last_dream_id"]?.stringValue)
            let dreams = try await server.get("/v1/dreams").json["data"]?.arrayValue ?? []
            #expect(dreams.map { $0["id"] } == [.string(dreamID)])
            #expect(dreams.first?["status"] == "completed")
        }, thenStop: { await harness.stop() })
    }

    @Test func badPoliciesAreRefused() async throws {
        let harness = try await Self.start()
        try await run({
            let server = harness.server
            let store = try #require(try await server.post("/v1/memory_stores", ["name": "team"]).json["id"]?.stringValue)
            let path = "/v1/memory_stores/\(store)/dream_policy"
            let cases: [(JSONValue, String)] = [
                (["trigger": ["type": "sessions", "count": 1], "model": "m", "promotion": "if_not_worse"], "needs an evaluation"),
                (["trigger": ["type": "cron", "schedule": "61 * * * *"], "model": "m"], "within 0–59"),
                (["trigger": ["type": "cron", "schedule": "daily"], "model": "m"], "expected 5 fields"),
                (["trigger": ["type": "sessions", "count": 0], "model": "m"], "between 1 and 100"),
                (["trigger": ["type": "weekly"], "model": "m"], "'sessions' or 'cron'"),
                (["model": "m"], "trigger: required"),
            ]
            for (body, message) in cases {
                let reply = try await server.request(.PUT, path, json: body)
                #expect(reply.status == 400 && reply.json["error"]?["message"]?.stringValue?.contains(message) == true, "\(reply.text)")
            }
            #expect(try await server.request(.PUT, "/v1/memory_stores/memstore_nope/dream_policy", json: ["trigger": ["type": "sessions", "count": 1], "model": "m"]).status == 404)
            #expect(try await server.get(path).status == 404)
            let cron = try await server.request(.PUT, path, json: ["trigger": ["type": "cron", "schedule": "0 3 * * 1-5"], "model": "m"])
            #expect(cron.status == 200 && cron.json["trigger"]?["schedule"] == "0 3 * * 1-5")
            #expect(try await server.delete(path).status == 200)
            #expect(try await server.delete(path).status == 404)
        }, thenStop: { await harness.stop() })
    }

    @Test func cronSchedulesMatchLikeCron() throws {
        func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text) ?? Date.distantPast }
        let nightly = try CronSchedule("30 3 * * *")
        #expect(nightly.matches(date("2026-11-30T03:30:00Z")))
        #expect(!nightly.matches(date("2026-11-30T03:31:00Z")))
        #expect(nightly.fires(after: date("2026-11-29T04:00:00Z"), through: date("2026-11-30T03:30:10Z")))
        #expect(!nightly.fires(after: date("2026-11-30T03:30:00Z"), through: date("2026-11-30T12:00:00Z")), "fired at 03:30, not again that day")
        let weekdays = try CronSchedule("*/15 9-17 * * 1-5")
        #expect(weekdays.matches(date("2026-11-30T09:45:00Z")))  // a Monday
        #expect(!weekdays.matches(date("2026-11-29T09:45:00Z")))  // a Sunday
        #expect(!weekdays.matches(date("2026-11-30T18:00:00Z")))
        let either = try CronSchedule("0 0 1 * 0")  // the 1st of a month or any Sunday
        #expect(either.matches(date("2026-12-01T00:00:00Z")) && either.matches(date("2026-11-29T00:00:00Z")))
        #expect(!either.matches(date("2026-11-30T00:00:00Z")))
        #expect(try CronSchedule("0 0 * * 7").matches(date("2026-11-29T00:00:00Z")), "7 is Sunday too")
        #expect(throws: APIError.self) { try CronSchedule("* * * *") }
        #expect(throws: APIError.self) { try CronSchedule("*/0 * * * *") }
        #expect(throws: APIError.self) { try CronSchedule("5-1 * * * *") }
    }
}
