import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import Testing

/// Dreams run by the dream runner notify their whole life over webhooks.
@Suite(.timeLimit(.minutes(3))) struct WebhookDreamTests {
    /// A dream that completes, one canceled while running, and one whose model is gone: the
    /// receiver sees each status change once, signed, with the dream id.
    @Test func receiverSeesEveryEventOfADreamsLife() async throws {
        let operations: JSONValue = [proposal("add", "/lessons/new.md", content: "New lesson.")]
        let mock = MockLLMServer(scenario: try dreamerScenario(candidates: [], operations: operations))
        // The second dream's first model call is held (never answered) so the cancel always
        // lands while that dream runs.
        var holding = try dreamerScenario(candidates: [], operations: operations)
        for index in holding.rules.indices { holding.rules[index].sequence[0].hold = "dream" }
        try await mock.start()
        let receiver = try await WebhookReceiver.start()
        let server = try await TestServer.start { configuration in
            WebhookDeliveryTests.fast(&configuration)
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: mock.baseURL ?? "", apiKey: "test", timeout: .seconds(20), retry: .none)],
                routes: [ModelRoute(match: "*", provider: "mock")])
        }
        try await run({
            let endpoint = try await WebhookDeliveryTests().createEndpoint(server, url: receiver.url, events: WebhookEventType.dream)
            let platform = server.platform

            let store = try await platform.memory.createMemoryStore(MemoryStoreRequest(try ObjectReader(["name": "lessons"]), creating: true))
            let agent = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "worker", "model": "claude-test"])))
            let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "env"]), creating: true))
            let session = try await platform.sessions.createSession(try SessionCreateRequest(ObjectReader(["agent": .string(agent.id), "environment_id": .string(environment.id)])))
            _ = try await platform.log.append(DreamFixture.workLog(task: "ship it", kilobytes: 2), to: session.id)
            func createDream() async throws -> Dream {
                try await platform.dreams.createDream(try DreamRequest(ObjectReader([
                    "inputs": [
                        ["type": "memory_store", "memory_store_id": .string(store.id)], ["type": "sessions", "session_ids": [.string(session.id)]],
                    ],
                    "model": "claude-dreamer",
                ])))
            }
            func wait(_ id: String, for statuses: Set<Dream.Status>) async throws {
                let deadline = ContinuousClock.now + .seconds(30)
                while try await !statuses.contains(platform.dreams.dream(id: id).status) {
                    guard ContinuousClock.now < deadline else { throw TestFailure("dream \(id) did not reach \(statuses)") }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }

            let completed = try await createDream()
            try await wait(completed.id, for: [.completed])
            await mock.setScenario(holding)
            let canceled = try await createDream()
            #expect(await eventually { await mock.held(at: "dream") == 1 })
            #expect(try await platform.dreams.dream(id: canceled.id).status == .running)
            #expect(try await server.post("/v1/dreams/\(canceled.id)/cancel", [:]).status == 200)
            await mock.stop()
            let failed = try await createDream()
            try await wait(failed.id, for: [.failed])

            let expected: [String: [String]] = [
                completed.id: ["dream.created", "dream.running", "dream.completed"],
                canceled.id: ["dream.created", "dream.running", "dream.canceled"],
                failed.id: ["dream.created", "dream.running", "dream.failed"],
            ]
            let requests = try await receiver.wait { $0.count >= 9 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.received.count == 9)
            #expect(Set(requests.map(\.webhookID)).count == 9)
            #expect(requests.allSatisfy { $0.verifies(with: endpoint.secret) })
            for (dreamID, types) in expected {
                let mine = requests.filter { $0.json["data"]?["id"]?.stringValue == dreamID }
                    .sorted { ($0.json["created_at"]?.stringValue ?? "", $0.webhookID) < ($1.json["created_at"]?.stringValue ?? "", $1.webhookID) }
                #expect(mine.map(\.eventType) == types, "\(dreamID)")
            }
        }, thenStop: { await server.stop(); await receiver.stop(); await mock.stop() })
    }
}
