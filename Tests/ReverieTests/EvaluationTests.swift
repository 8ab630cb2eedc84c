import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// Evaluations: a task set run with two memory stores, graded by outcomes, compared in pairs.
@Suite(.timeLimit(.minutes(3))) struct EvaluationTests {
    static let lesson = "In this repo we always run ./scripts/test.sh, never pytest directly."

    /// A scripted agent that reads its memory with bash and succeeds only when the lesson is
    /// there; the grader is satisfied only by an answer naming ./scripts/test.sh.
    static func scenario() throws -> MockScenario {
        func verdict(_ result: String) -> JSONValue {
            .string((try? JSONCoding.string(JSONValue.object([
                "criteria": [["criterion": "Uses the repo's test script", "passed": .bool(result == "satisfied"), "reason": "seen"]],
                "result": .string(result), "explanation": .string(result == "satisfied" ? "Correct." : "GAP: the answer uses pytest directly."),
            ]))) ?? "{}")
        }
        let json: JSONValue = [
            "rules": [
                ["name": "grader-pass", "system_contains": .string(graderMarker), "last_user_contains": "./scripts/test.sh", "reply": verdict("satisfied")],
                ["name": "grader-fail", "system_contains": .string(graderMarker), "reply": verdict("needs_revision")],
                ["name": "answer-with-lesson", "last_user_contains": "scripts/test.sh", "reply": "Run the tests with ./scripts/test.sh."],
                ["name": "answer-without", "last_user_contains": "no lessons", "reply": "Run the tests with pytest."],
                ["name": "look", "has_tool": "bash", "reply": [["type": "tool_use", "name": "bash",
                    "input": ["command": "cat /mnt/memory/*/lessons/*.md 2>/dev/null || echo no lessons"]]]],
            ],
        ]
        return try MockScenario(json: try JSONCoding.data(json))
    }

    static func tasks(_ count: Int) -> JSONValue {
        .array((1...count).map { index in
            ["name": .string("tests \(index)"), "prompt": .string("How do I run the tests for part \(index)?"),
             "rubric": "- Names the repo's own test script", "max_iterations": 1]
        })
    }

    func makeStore(_ server: TestServer, lesson: Bool) async throws -> String {
        let store = try await server.post("/v1/memory_stores", ["name": lesson ? "with lesson" : "empty"])
        let id = try #require(store.json["id"]?.stringValue)
        if lesson {
            let memory = try await server.post("/v1/memory_stores/\(id)/memories", ["path": "/lessons/testing.md", "content": .string(Self.lesson)])
            #expect(memory.status == 200)
        }
        return id
    }

    func evaluate(_ server: TestServer, baseline: String, candidate: String, tasks: Int, repetitions: Int) async throws -> JSONValue {
        let (agent, environment) = try await server.makeAgentAndEnvironment(tools: [["type": "agent_toolset_20260401"]])
        let created = try await server.post("/v1/evaluations", [
            "agent": .string(agent), "environment_id": .string(environment), "tasks": Self.tasks(tasks),
            "baseline": ["memory_store_id": .string(baseline)], "candidate": ["memory_store_id": .string(candidate)],
            "repetitions": .int(Int64(repetitions)), "concurrency": 4,
        ])
        #expect(created.status == 200, "\(created.text)")
        let id = try #require(created.json["id"]?.stringValue)
        #expect(id.hasPrefix("eval_"))
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let evaluation = try await server.get("/v1/evaluations/\(id)").json
            if ["completed", "failed", "canceled"].contains(evaluation["status"]?.stringValue ?? "") { return evaluation }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("evaluation \(id) did not end")
    }

    @Test func theStoreHoldingTheLessonIsBetter() async throws {
        try await RuntimeHarness.with(try Self.scenario()) { harness in
            let server = harness.server
            let empty = try await makeStore(server, lesson: false)
            let taught = try await makeStore(server, lesson: true)
            let evaluation = try await evaluate(server, baseline: empty, candidate: taught, tasks: 3, repetitions: 2)
            #expect(evaluation["status"] == "completed", "\(evaluation)")
            let results = try #require(evaluation["results"])
            #expect(results["baseline"]?["satisfied"] == 0)
            #expect(results["candidate"]?["satisfied"] == 6)
            #expect(results["candidate"]?["satisfied_rate"] == 1)
            #expect(results["candidate"]?["mean_iterations_to_satisfied"] == 1)
            #expect(results["candidate"]?["mean_tokens"] != 0 && results["candidate"]?["mean_tokens"] != nil)
            #expect(results["comparison"]?["candidate_wins"] == 6 && results["comparison"]?["baseline_wins"] == 0)
            #expect(results["comparison"]?["verdict"] == "better")
            #expect(results["tasks"]?.arrayValue?.count == 3)
            // Every run is an ordinary session, kept and marked.
            let runs = evaluation["runs"]?.arrayValue ?? []
            #expect(runs.count == 12)
            #expect(runs.allSatisfy { $0["state"] == "ended" && $0["session_id"]?.stringValue?.hasPrefix("sesn_") == true })
            let first = try #require(runs.first?["session_id"]?.stringValue)
            let session = try await server.get("/v1/sessions/\(first)").json
            #expect(session["metadata"]?["reverie.evaluation"] == evaluation["id"])
            #expect(session["resources"]?[0]?["access"] == "read_only", "runs never change the stores they read")
            // Kept and listed.
            let listed = try await server.get("/v1/evaluations").json
            #expect(listed["data"]?.arrayValue?.map { $0["id"] } == [evaluation["id"] ?? .null])
            // The stores are as they were.
            let memories = try await server.get("/v1/memory_stores/\(taught)/memories").json
            #expect(memories["data"]?.arrayValue?.count == 1)
        }
    }

    @Test func identicalStoresAreNoDifferent() async throws {
        try await RuntimeHarness.with(try Self.scenario()) { harness in
            let server = harness.server
            let one = try await makeStore(server, lesson: true)
            let two = try await makeStore(server, lesson: true)
            let evaluation = try await evaluate(server, baseline: one, candidate: two, tasks: 2, repetitions: 2)
            #expect(evaluation["status"] == "completed")
            #expect(evaluation["results"]?["comparison"]?["verdict"] == "no_different")
            #expect(evaluation["results"]?["comparison"]?["ties"] == 4)
            #expect(evaluation["results"]?["baseline"]?["satisfied"] == 4 && evaluation["results"]?["candidate"]?["satisfied"] == 4)
        }
    }

    @Test func badRequestsAreRefusedClearly() async throws {
        try await RuntimeHarness.with(try Self.scenario()) { harness in
            let server = harness.server
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let valid: [String: JSONValue] = [
                "agent": .string(agent), "environment_id": .string(environment), "tasks": Self.tasks(1),
                "baseline": ["memory_store_id": .null], "candidate": ["memory_store_id": "memstore_nope"],
            ]
            var bodies: [(JSONValue, String)] = []
            var missing = valid
            missing["tasks"] = nil
            bodies.append((.object(missing), "tasks: required"))
            bodies.append((.object(valid), "memory store 'memstore_nope' not found"))
            var none = valid
            none["candidate"] = ["memory_store_id": .null]
            bodies.append((.object(none), "at least one arm"))
            var reps = valid
            reps["repetitions"] = 0
            bodies.append((.object(reps), "repetitions: must be between 1 and 20"))
            var extra = valid
            extra["bogus"] = true
            bodies.append((.object(extra), "bogus"))
            for (body, message) in bodies {
                let reply = try await server.post("/v1/evaluations", body)
                #expect(reply.status == 400 && reply.errorType == "invalid_request_error")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(message) == true, "\(reply.text)")
            }
            #expect(try await server.get("/v1/evaluations/eval_missing").status == 404)
        }
    }

    @Test func theSignTestAndPairingRules() {
        #expect(EvaluationResults.signTest(6, 0) == 0.03125)
        #expect(EvaluationResults.signTest(5, 0) == 0.0625)
        #expect(EvaluationResults.signTest(0, 0) == 1)
        #expect(abs(EvaluationResults.signTest(8, 2) - 0.109375) < 1e-9)
        func run(_ task: Int, _ arm: EvaluationRun.Arm, _ rep: Int, _ result: String, _ iterations: Int) -> EvaluationRun {
            var run = EvaluationRun(task: task, arm: arm, repetition: rep)
            run.state = .ended
            run.result = result
            run.iterations = iterations
            return run
        }
        let runs = [
            run(0, .baseline, 0, "satisfied", 3), run(0, .candidate, 0, "satisfied", 1),  // fewer iterations: candidate
            run(0, .baseline, 1, "satisfied", 1), run(0, .candidate, 1, "max_iterations_reached", 3),  // baseline
            run(0, .baseline, 2, "timeout", 0), run(0, .candidate, 2, "failed", 1),  // tie
        ]
        let tasks = [EvaluationTask(name: "t", prompt: "p", rubric: "r", maxIterations: 3)]
        let results = EvaluationResults.compute(tasks: tasks, runs: runs)
        #expect(results.comparison.candidateWins == 1 && results.comparison.baselineWins == 1 && results.comparison.ties == 1)
        #expect(results.comparison.verdict == .noDifferent)
        #expect(results.baseline.satisfied == 2 && results.baseline.meanIterationsToSatisfied == 2)
    }
}
