import ArgumentParser
import Foundation
import ReverieCore

/// The demo's scenario (`examples/demo/demo.json`).
struct DemoPlan {
    var agent: JSONValue
    var memoryStore: JSONValue
    var tasks: [JSONValue]
    var correction: String
    var dreamInstructions: String?

    init(directory: String) throws {
        let path = directory + "/demo.json"
        guard let data = FileManager.default.contents(atPath: path), let json = try? JSONCoding.decode(JSONValue.self, from: data) else {
            throw ValidationError("\(path) is missing or not JSON")
        }
        guard let agent = json["agent"], agent["name"] != nil, let tasks = json["tasks"]?.arrayValue, !tasks.isEmpty,
            let correction = json["correction"]?.stringValue
        else { throw ValidationError("\(path) needs agent.name, a non-empty tasks list and a correction") }
        self.agent = agent
        self.memoryStore = json["memory_store"] ?? ["name": "demo lessons"]
        self.tasks = tasks
        self.correction = correction
        self.dreamInstructions = json["dream_instructions"]?.stringValue
    }
}

/// The demo's steps, through the HTTP API like any client.
struct DemoRun {
    let client: APIClient
    let plan: DemoPlan
    let model: String

    func perform() async throws -> (before: Int, after: Int) {
        var agentBody = plan.agent.objectValue ?? [:]
        agentBody["model"] = .string(model)
        agentBody["tools"] = [["type": "agent_toolset_20260401"]]
        let agent = try await id(client.send(.POST, "/v1/agents", json: .object(agentBody)))
        let environment = try await id(client.send(.POST, "/v1/environments", json: ["name": "demo"]))
        let store = try await id(client.send(.POST, "/v1/memory_stores", json: plan.memoryStore))

        print("\n1. Before: \(plan.tasks.count) task(s), each graded by an outcome")
        let first = try await runTasks(agent: agent, environment: environment, store: store)
        let failed = first.filter { !$0.satisfied }.map(\.session)

        if !failed.isEmpty {
            print("\n2. The user corrects the agent in the \(failed.count) failed session(s): “\(plan.correction)”")
            for session in failed {
                _ = try await client.send(.POST, "/v1/sessions/\(session)/events", json: [
                    "events": [["type": "user.message", "content": [["type": "text", "text": .string(plan.correction)]]]],
                ])
                _ = try await waitForIdle(session)
            }
        }

        print("\n3. A dream reads those sessions and the (empty) memory store")
        var dreamBody: [String: JSONValue] = [
            "inputs": [
                ["type": "memory_store", "memory_store_id": .string(store)],
                ["type": "sessions", "session_ids": .array(first.map { .string($0.session) })],
            ],
            "model": .string(model),
        ]
        if let instructions = plan.dreamInstructions { dreamBody["instructions"] = .string(instructions) }
        let dreamID = try await id(client.send(.POST, "/v1/dreams", json: .object(dreamBody)))
        let dream = try await waitForDream(dreamID)
        guard dream["status"] == "completed" else {
            throw ValidationError("the dream \(dreamID) \(dream["status"]?.stringValue ?? "?"): \(dream["error"]?["message"]?.stringValue ?? "")")
        }
        let report = try await client.text(.GET, "/v1/dreams/\(dreamID)/report?format=markdown")
        print(report.split(separator: "\n", omittingEmptySubsequences: false).map { "   │ " + $0 }.joined(separator: "\n"))

        print("4. Promote the dream's output into the agent's memory store")
        let promoted = try await client.send(.POST, "/v1/dreams/\(dreamID)/promote", json: ["strategy": "apply"])
        let paths = (promoted["promotion"]?["changed_paths"]?.arrayValue ?? []).compactMap(\.stringValue)
        print("   \(store): \(paths.isEmpty ? "nothing changed" : paths.joined(separator: ", "))")

        print("\n5. After: the same task(s) again")
        let second = try await runTasks(agent: agent, environment: environment, store: store)
        return (first.filter(\.satisfied).count, second.filter(\.satisfied).count)
    }

    struct TaskRun {
        var session: String
        var satisfied: Bool
    }

    /// Runs every task as its own session with the store mounted, and prints each verdict.
    private func runTasks(agent: String, environment: String, store: String) async throws -> [TaskRun] {
        var sessions: [(name: String, id: String)] = []
        for task in plan.tasks {
            let outcome: JSONValue = [
                "type": "user.define_outcome", "description": task["prompt"] ?? "",
                "rubric": ["type": "text", "content": task["rubric"] ?? ""], "max_iterations": task["max_iterations"] ?? 1,
            ]
            let session = try await id(client.send(.POST, "/v1/sessions", json: [
                "agent": .string(agent), "environment_id": .string(environment), "title": task["name"] ?? "task",
                "resources": [["type": "memory_store", "memory_store_id": .string(store)]], "initial_events": [outcome],
            ]))
            sessions.append((task["name"]?.stringValue ?? "task", session))
        }
        var runs: [TaskRun] = []
        for (name, session) in sessions {
            let ended = try await waitForIdle(session)
            let evaluation = ended["outcome_evaluations"]?.arrayValue?.last
            let result = evaluation?["result"]?.stringValue ?? "no outcome"
            let satisfied = result == "satisfied"
            let answer = try await lastAgentMessage(session)
            print("   \(satisfied ? "✓" : "✗") \(name): \(result) — “\(answer)”")
            runs.append(TaskRun(session: session, satisfied: satisfied))
        }
        return runs
    }

    /// Waits until the session is idle with no outcome still in progress.
    private func waitForIdle(_ session: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let current = try await client.send(.GET, "/v1/sessions/\(session)")
            let result = current["outcome_evaluations"]?.arrayValue?.last?["result"]?.stringValue
            let settled = result.map(SessionState.terminalOutcomeResults.contains) ?? true
            if current["status"] == "terminated" { return current }
            if current["status"] == "idle", settled { return current }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("session \(session) did not finish in time")
    }

    private func waitForDream(_ id: String) async throws -> JSONValue {
        let deadline = ContinuousClock.now + .seconds(300)
        while ContinuousClock.now < deadline {
            let dream = try await client.send(.GET, "/v1/dreams/\(id)")
            if ["completed", "failed", "canceled"].contains(dream["status"]?.stringValue ?? "") { return dream }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("dream \(id) did not finish in time")
    }

    /// The agent's last words in a session, on one line.
    private func lastAgentMessage(_ session: String) async throws -> String {
        let page = try await client.send(.GET, "/v1/sessions/\(session)/events?limit=1000")
        let message = (page["data"]?.arrayValue ?? []).last { $0["type"] == "agent.message" }
        let text = (message?["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 100 ? String(line.prefix(100)) + "…" : line
    }

    private func id(_ value: JSONValue) throws -> String {
        guard let id = value["id"]?.stringValue else { throw ValidationError("unexpected reply: \(value)") }
        return id
    }
}
