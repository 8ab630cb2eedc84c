import Foundation
import Synchronization
import Testing
@testable import ReverieCore
import ReverieMockLLM
import ReverieModels
@testable import ReverieRuntime
@testable import ReverieServer
@testable import ReverieStore

/// Webhooks end to end: a real server delivering to a real receiver on loopback.
@Suite(.timeLimit(.minutes(3))) struct WebhookDeliveryTests {
    /// Fast settings for tests: loopback allowed, quick polls, retries in milliseconds.
    static func fast(_ configuration: inout HostConfiguration) {
        configuration.webhooks = WebhookConfiguration(
            addressPolicy: WebhookAddressPolicy(allowPrivateNetworks: true), requestTimeout: .seconds(10), pollInterval: .milliseconds(20),
            retry: WebhookRetryPolicy(maxAttempts: 10, baseDelay: 0.02, factor: 1.5, maxDelay: 0.1))
    }

    /// The endpoint's deliveries once `count` of them exist and none is still pending: the
    /// receiver sees a request before the dispatcher records its outcome, so tests wait on
    /// the recorded state rather than a pause.
    func settledDeliveries(_ server: TestServer, endpoint: String, count: Int) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        let settled = try await eventually {
            items = try await server.get("/v1/organizations/webhooks/\(endpoint)/deliveries?limit=100").json["data"]?.arrayValue ?? []
            return items.count >= count && items.allSatisfy { ["succeeded", "failed"].contains($0["state"]?.stringValue ?? "") }
        }
        #expect(settled, "deliveries did not settle: \(items)")
        return items
    }

    func createEndpoint(_ server: TestServer, url: String, events: [String]) async throws -> (id: String, secret: String) {
        let reply = try await server.post(
            "/v1/organizations/webhooks", ["url": .string(url), "name": "test", "enabled_events": .array(events.map(JSONValue.string))])
        guard reply.status == 200, let id = reply.json["id"]?.stringValue, let secret = reply.json["signing_secret"]?.stringValue else {
            throw TestFailure("create endpoint failed: \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        }
        return (id, secret)
    }

    @Test func endpointsAreManagedLikeTheSDK() async throws {
        let server = try await TestServer.start(configure: Self.fast)
        try await run({
            let created = try await server.post(
                "/v1/organizations/webhooks",
                ["url": "http://127.0.0.1:9/hook", "enabled_events": ["session.idled", "dream.completed", "external_key.failed"]])
            #expect(created.status == 200)
            let id = try #require(created.json["id"]?.stringValue)
            #expect(id.hasPrefix("whep_"))
            let secret = try #require(created.json["signing_secret"]?.stringValue)
            #expect(secret.hasPrefix("whsec_") && WebhookSigningSecret(secret)?.key.count == 32)
            #expect(created.json["name"]?.stringValue == "" && created.json["description"]?.stringValue == "")
            #expect(created.json["state"]?.stringValue == "enabled" && created.json["disabled_reason"]?.stringValue == "")

            let fetched = try await server.get("/v1/organizations/webhooks/\(id)")
            #expect(fetched.status == 200)
            #expect(fetched.json["signing_secret"] == nil)
            #expect(fetched.json["enabled_events"] == ["session.idled", "dream.completed", "external_key.failed"])

            let updated = try await server.post("/v1/organizations/webhooks/\(id)", ["name": "renamed", "state": "disabled", "enabled_events": []])
            #expect(updated.json["name"]?.stringValue == "renamed")
            #expect(updated.json["state"]?.stringValue == "disabled")
            #expect(updated.json["disabled_reason"]?.stringValue == "")
            #expect(updated.json["enabled_events"]?.arrayValue?.count == 3)

            let second = try await createEndpoint(server, url: "http://127.0.0.1:9/other", events: ["agent.created"])
            let list = try await server.get("/v1/organizations/webhooks?limit=1")
            #expect(list.json["data"]?.arrayValue?.count == 1)
            #expect(list.json["has_more"]?.boolValue == true)
            #expect(list.json["first_id"]?.stringValue == second.id && list.json["last_id"]?.stringValue == second.id)
            let next = try await server.get("/v1/organizations/webhooks?limit=1&after_id=\(second.id)")
            #expect(next.json["data"]?[0]?["id"]?.stringValue == id)
            #expect(next.json["has_more"]?.boolValue == false)

            let rotated = try await server.post("/v1/organizations/webhooks/\(id)/regenerate_signing_secret", [:])
            let newSecret = try #require(rotated.json["signing_secret"]?.stringValue)
            #expect(newSecret.hasPrefix("whsec_") && newSecret != secret)
            #expect(rotated.json.objectValue?.count == 1)

            // Secrets are stored sealed: neither appears in the database files (which must
            // exist and hold the endpoint, or the search would prove nothing).
            var searched = 0
            var found = 0
            for file in ["reverie.sqlite", "reverie.sqlite-wal"] {
                let path = server.directory + "/" + file
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                searched += bytes.count
                if bytes.range(of: Data(id.utf8)) != nil { found += 1 }
                for text in [secret, newSecret] {
                    #expect(bytes.range(of: Data(text.utf8)) == nil)
                    #expect(bytes.range(of: Data(text.dropFirst(6).utf8)) == nil)
                }
            }
            #expect(searched > 0, "no database file at \(server.directory)")
            #expect(found > 0, "the endpoint's id is in neither database file, so the files searched are not where it lives")

            let deleted = try await server.request(.DELETE, "/v1/organizations/webhooks/\(id)")
            #expect(deleted.json == ["id": .string(id), "type": "webhook_endpoint_deleted"])
            #expect(try await server.get("/v1/organizations/webhooks/\(id)").status == 404)
            #expect(try await server.get("/v1/organizations/webhooks/agent_123").status == 404)
            let bad = try await server.post("/v1/organizations/webhooks", ["url": "http://127.0.0.1:9/h", "enabled_events": ["session.nope"]])
            #expect(bad.status == 400 && bad.errorType == "invalid_request_error")
            #expect(bad.json["error"]?["message"]?.stringValue?.hasPrefix("enabled_events[0]: unknown event type") == true)
        }, thenStop: server.stop)
    }

    @Test func privateReceiversAreRefusedByDefault() async throws {
        let server = try await TestServer.start()
        try await run({
            let refused = [
                ("http://127.0.0.1:8080/hook", "https://"), ("https://127.0.0.1/hook", "loopback"), ("https://[::1]/hook", "loopback"),
                ("https://10.1.2.3/hook", "private"), ("https://192.168.0.10/hook", "private"), ("https://169.254.169.254/latest", "link-local"),
                ("https://[fd00::1]/hook", "unique-local"), ("https://localhost/hook", "loopback"), ("https://0.0.0.0/hook", "unicast"),
            ]
            for (url, reason) in refused {
                let reply = try await server.post("/v1/organizations/webhooks", ["url": .string(url), "enabled_events": ["session.idled"]])
                #expect(reply.status == 400, "\(url)")
                let message = reply.json["error"]?["message"]?.stringValue ?? ""
                #expect(message.hasPrefix("url: ") && message.contains(reason), "\(url): \(message)")
            }
            let accepted = try await createEndpoint(server, url: "https://93.184.216.34/hook", events: ["session.idled"])
            let moved = try await server.post("/v1/organizations/webhooks/\(accepted.id)", ["url": "https://172.16.5.4/hook"])
            #expect(moved.status == 400)
            #expect(try await server.get("/v1/organizations/webhooks/\(accepted.id)").json["url"]?.stringValue == "https://93.184.216.34/hook")
        }, thenStop: server.stop)
    }

    /// A loopback receiver sees every event of a session's life, each signed, each once.
    @Test func receiverSeesASessionsLife() async throws {
        let receiver = try await WebhookReceiver.start()
        let server = try await TestServer.start(configure: Self.fast)
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: WebhookEventType.session)
            let sessionID = try await server.makeSession()
            let platform = server.platform
            try await platform.log.append([SessionEvent(type: .sessionStatusRunning)], to: sessionID)
            try await platform.log.append(
                [SessionEvent(type: .sessionThreadCreated, fields: ["session_thread_id": "sthr_child", "agent_name": "helper"])], to: sessionID)
            try await platform.log.append(
                [SessionEvent(type: .sessionThreadStatusIdle, fields: ["session_thread_id": "sthr_child", "agent_name": "helper", "stop_reason": ["type": "end_turn"]])],
                to: sessionID)
            try await platform.log.append(
                [SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "requires_action", "event_ids": ["sevt_x"]]])], to: sessionID)
            try await platform.log.append([SessionEvent(type: .sessionStatusRunning)], to: sessionID)
            try await platform.log.append([SessionEvent(type: .spanOutcomeEvaluationEnd, fields: ["outcome_id": "outc_1", "result": "satisfied"])], to: sessionID)
            try await platform.log.append([SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]])], to: sessionID)
            #expect(try await server.post("/v1/sessions/\(sessionID)", ["title": "renamed"]).status == 200)
            try await platform.log.append([SessionEvent(type: .sessionStatusTerminated)], to: sessionID)
            #expect(try await server.post("/v1/sessions/\(sessionID)/archive", [:]).status == 200)
            #expect(try await server.request(.DELETE, "/v1/sessions/\(sessionID)").status == 200)

            let expected = [
                "session.created", "session.running", "session.thread_created", "session.thread_idled", "session.requires_action",
                "session.running", "session.outcome_evaluation_ended", "session.idled", "session.updated", "session.status_terminated",
                "session.archived", "session.deleted",
                // Each status change also as the SDK's status_* type.
                "session.status_run_started", "session.status_run_started", "session.status_idled", "session.status_idled",
            ]
            let requests = try await receiver.wait { $0.count >= expected.count }
            try await Task.sleep(for: .milliseconds(200))
            #expect(receiver.received.count == expected.count)
            #expect(requests.map(\.eventType).sorted() == expected.sorted())
            #expect(Set(requests.map(\.webhookID)).count == expected.count)
            for request in requests {
                #expect(request.verifies(with: endpoint.secret), "\(request.eventType) signature")
                #expect(request.headers["content-type"] == "application/json")
                #expect(request.json["type"]?.stringValue == "event")
                #expect(request.json["id"]?.stringValue == request.webhookID)
                #expect(request.json["data"]?["id"]?.stringValue == sessionID)
                #expect(request.json["data"]?["organization_id"]?.stringValue == "org_reverie")
                #expect(Timestamp.parse(request.json["created_at"]?.stringValue ?? "") != nil)
            }
            let threadEvents = requests.filter { $0.eventType.hasPrefix("session.thread_") }
            #expect(threadEvents.allSatisfy { $0.json["data"]?["session_thread_id"]?.stringValue == "sthr_child" })

            let items = try await settledDeliveries(server, endpoint: endpoint.id, count: expected.count)
            #expect(items.count == expected.count)
            #expect(items.allSatisfy { $0["state"]?.stringValue == "succeeded" && $0["attempts"] == 1 }, "\(items)")
            let deliveryID = try #require(items.first?["id"]?.stringValue)
            let attempts = try await server.get("/v1/organizations/webhooks/\(endpoint.id)/deliveries/\(deliveryID)/attempts")
            #expect(attempts.json["data"]?[0]?["status_code"] == 200)
            #expect(attempts.json["data"]?[0]?["succeeded"]?.boolValue == true)
            #expect((attempts.json["data"]?[0]?["latency_ms"]).map { $0 != .null } == true)
        }, thenStop: { await server.stop(); await receiver.stop() })
    }

    /// The agent runtime runs a session with an outcome against the mock model: its status
    /// changes and the outcome's evaluation arrive, signed, in the order they happened.
    @Test func runningSessionNotifiesItsStatusChanges() async throws {
        let mock = MockLLMServer(scenario: MockScenario())
        try await mock.start()
        let receiver = try await WebhookReceiver.start()
        let server = try await TestServer.start { configuration in
            Self.fast(&configuration)
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: mock.baseURL ?? "", apiKey: "test-key")],
                routes: [ModelRoute(match: "*", provider: "mock")])
        }
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: WebhookEventType.session)
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let created = try await server.post("/v1/sessions", [
                "agent": .string(agent), "environment_id": .string(environment),
                "initial_events": [[
                    "type": "user.define_outcome", "description": "Say hello.", "rubric": ["type": "text", "content": "- Greets the user"],
                    "max_iterations": 1,
                ]],
            ])
            let sessionID = try #require(created.json["id"]?.stringValue)
            let expected = ["session.created", "session.running", "session.outcome_evaluation_ended", "session.idled"]
            // Deliveries run concurrently, so they may arrive in any order: wait for all of them.
            let requests = try await receiver.wait { $0.count >= expected.count + 2 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.received.count == requests.count)
            let ordered = requests.sorted { ($0.json["created_at"]?.stringValue ?? "", $0.webhookID) < ($1.json["created_at"]?.stringValue ?? "", $1.webhookID) }
            // The status_* twins carry their status change's time; the order is checked without them.
            #expect(ordered.map(\.eventType).filter { !$0.hasPrefix("session.status_") } == expected)
            #expect(ordered.map(\.eventType).filter { $0.hasPrefix("session.status_") }.sorted() == ["session.status_idled", "session.status_run_started"])
            #expect(requests.allSatisfy { $0.verifies(with: endpoint.secret) && $0.json["data"]?["id"]?.stringValue == sessionID })
        }, thenStop: { await server.stop(); await receiver.stop(); await mock.stop() })
    }

    /// A coordinator delegates to a specialist thread: the thread's creation and idling arrive
    /// naming the thread, and the session's own status changes arrive once each.
    @Test func multiAgentSessionNotifiesItsThreads() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Check the data",
                "reply": [toolUse("start_thread", ["agent": "checker", "task": "Check the data set."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "The data is fine."],
            ["name": "checker", "system_contains": "You check", "reply": "All rows check out."],
        ]
        let mock = MockLLMServer(scenario: try threadScenario(rules))
        try await mock.start()
        let receiver = try await WebhookReceiver.start()
        let server = try await TestServer.start { configuration in
            Self.fast(&configuration)
            configuration.models = ModelCatalogConfiguration(
                providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: mock.baseURL ?? "", apiKey: "test", retry: .none)],
                routes: [ModelRoute(match: "*", provider: "mock")])
        }
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: WebhookEventType.session)
            let checker = try await server.post("/v1/agents", ["name": "checker", "model": "mock-model", "system": "You check data."])
            let lead = try await server.post("/v1/agents", [
                "name": "lead", "model": "mock-model", "system": "You coordinate checks.",
                "multiagent": ["type": "coordinator", "agents": [checker.json["id"] ?? .null]],
            ])
            let environment = try await server.post("/v1/environments", ["name": "env"])
            let created = try await server.post("/v1/sessions", [
                "agent": lead.json["id"] ?? .null, "environment_id": environment.json["id"] ?? .null,
                "initial_events": [["type": "user.message", "content": [["type": "text", "text": "Check the data"]]]],
            ])
            let sessionID = try #require(created.json["id"]?.stringValue)
            let expected = [
                "session.created", "session.idled", "session.running", "session.status_idled", "session.status_run_started", "session.thread_created",
                "session.thread_idled",
            ]
            // Deliveries run concurrently, so they may arrive in any order: wait for all of them.
            let requests = try await receiver.wait { $0.count >= expected.count }
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.received.count == requests.count)
            #expect(requests.map(\.eventType).sorted() == expected)
            #expect(requests.allSatisfy { $0.verifies(with: endpoint.secret) && $0.json["data"]?["id"]?.stringValue == sessionID })
            let threadEvents = requests.filter { $0.eventType.hasPrefix("session.thread_") }
            let threadID = try #require(threadEvents.first?.json["data"]?["session_thread_id"]?.stringValue)
            #expect(threadID.hasPrefix("sthr_"))
            #expect(threadEvents.allSatisfy { $0.json["data"]?["session_thread_id"]?.stringValue == threadID })
        }, thenStop: { await server.stop(); await receiver.stop(); await mock.stop() })
    }

    @Test func dreamEventsAreDeliverable() async throws {
        let receiver = try await WebhookReceiver.start()
        let server = try await TestServer.start(configure: Self.fast)
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: WebhookEventType.dream)
            try await server.host.store.appendOutboxEvents(
                OutboxEvent.DreamEvent.allCases.map { OutboxEvent.dream(type: $0, dreamID: "drm_01abc") })
            let requests = try await receiver.wait { $0.count >= WebhookEventType.dream.count }
            #expect(requests.map(\.eventType).sorted() == WebhookEventType.dream.sorted())
            #expect(requests.allSatisfy { $0.json["data"]?["id"]?.stringValue == "drm_01abc" && $0.verifies(with: endpoint.secret) })
        }, thenStop: { await server.stop(); await receiver.stop() })
    }

    /// Three failures, then a success: the receiver sees four requests with the same
    /// `webhook-id` and one body, and exactly one success.
    @Test func failingThreeTimesThenSucceedingDeliversOnce() async throws {
        let receiver = try await WebhookReceiver.start { index in WebhookReceiver.Answer(status: index < 3 ? 500 : 200) }
        let server = try await TestServer.start(configure: Self.fast)
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: ["dream.completed"])
            let event = OutboxEvent(type: "dream.completed", resourceID: "drm_1")
            try await server.host.store.appendOutboxEvents([event])
            let requests = try await receiver.wait { $0.count >= 4 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.received.count == 4)
            #expect(requests.map(\.status) == [500, 500, 500, 200])
            #expect(requests.allSatisfy { $0.webhookID == event.id && $0.verifies(with: endpoint.secret) })
            #expect(Set(requests.map(\.body)).count == 1)

            let delivery = try #require(try await settledDeliveries(server, endpoint: endpoint.id, count: 1).first)
            #expect(delivery["state"]?.stringValue == "succeeded")
            #expect(delivery["attempts"] == 4)
            #expect(delivery["event_id"]?.stringValue == event.id)
            let deliveryID = try #require(delivery["id"]?.stringValue)
            let attempts = try await server.get("/v1/organizations/webhooks/\(endpoint.id)/deliveries/\(deliveryID)/attempts")
            let log = attempts.json["data"]?.arrayValue ?? []
            #expect(log.map { $0["number"] } == [1, 2, 3, 4])
            #expect(log.map { $0["status_code"] } == [500, 500, 500, 200])
            #expect(log.map { $0["error"]?.stringValue } == ["HTTP 500", "HTTP 500", "HTTP 500", ""])
            #expect(log.allSatisfy { $0["response_excerpt"]?.stringValue == "ok" })
            #expect(try await server.get("/v1/organizations/webhooks/\(endpoint.id)").json["state"]?.stringValue == "enabled")
        }, thenStop: { await server.stop(); await receiver.stop() })
    }

    /// One event to a receiver that always fails: the delivery gives up after exactly the
    /// default 10 attempts (9 retries) and is marked failed; 10 failures are fewer than the
    /// 20 that disable an endpoint, so it stays enabled.
    @Test func aDeliveryGivesUpAfterExactlyTenAttempts() async throws {
        #expect(WebhookRetryPolicy().maxAttempts == 10)
        let receiver = try await WebhookReceiver.start { _ in WebhookReceiver.Answer(status: 500) }
        let server = try await TestServer.start { configuration in
            Self.fast(&configuration)
            configuration.webhooks.retry = WebhookRetryPolicy(baseDelay: 0.02, factor: 1.5, maxDelay: 0.1)
        }
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: ["dream.failed"])
            try await server.host.store.appendOutboxEvents([OutboxEvent(type: "dream.failed", resourceID: "drm_1")])
            var delivery = JSONValue.null
            let failed = try await eventually {
                delivery = try await server.get("/v1/organizations/webhooks/\(endpoint.id)/deliveries").json["data"]?[0] ?? .null
                return delivery["state"]?.stringValue == "failed"
            }
            #expect(failed, "\(delivery)")
            // A failed delivery schedules nothing more, so these counts are final.
            #expect(delivery["attempts"] == 10)
            #expect(receiver.received.count == 10)
            let deliveryID = try #require(delivery["id"]?.stringValue)
            let attempts = try await server.get("/v1/organizations/webhooks/\(endpoint.id)/deliveries/\(deliveryID)/attempts?limit=100")
            #expect(attempts.json["data"]?.arrayValue?.map { $0["number"] } == (1...10).map { JSONValue.int(Int64($0)) })
            #expect(try await server.get("/v1/organizations/webhooks/\(endpoint.id)").json["state"]?.stringValue == "enabled")
        }, thenStop: { await server.stop(); await receiver.stop() })
    }

    /// A receiver that always fails is disabled after 20 consecutive failures, with the
    /// reason in its status; once fixed and enabled, a failed delivery can be re-sent.
    @Test func alwaysFailingReceiverIsDisabledAfterTwentyFailures() async throws {
        let healthy = Mutex(false)
        let receiver = try await WebhookReceiver.start { _ in WebhookReceiver.Answer(status: healthy.withLock { $0 } ? 204 : 503) }
        // Several attempts run at once (8 per endpoint), yet no more than 20 are sent.
        let server = try await TestServer.start(configure: Self.fast)
        try await run({
            let endpoint = try await createEndpoint(server, url: receiver.url, events: ["dream.failed"])
            let events = (0..<3).map { OutboxEvent(type: "dream.failed", resourceID: "drm_\($0)") }
            try await server.host.store.appendOutboxEvents(events)

            let deadline = ContinuousClock.now + .seconds(30)
            var status = JSONValue.null
            while ContinuousClock.now < deadline {
                status = try await server.get("/v1/organizations/webhooks/\(endpoint.id)").json
                if status["state"]?.stringValue == "disabled" { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status["state"]?.stringValue == "disabled")
            let reason = status["disabled_reason"]?.stringValue ?? ""
            #expect(reason.contains("20 consecutive failed delivery attempts") && reason.contains("HTTP 503"))
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.received.count == 20)
            let deliveries = try await server.get("/v1/organizations/webhooks/\(endpoint.id)/deliveries?limit=10").json["data"]?.arrayValue ?? []
            #expect(deliveries.count == 3)
            #expect(deliveries.allSatisfy { $0["state"]?.stringValue == "failed" })
            #expect(deliveries.reduce(0) { $0 + Int($1["attempts"]?.intValue ?? 0) } == 20)

            healthy.withLock { $0 = true }
            let enabled = try await server.post("/v1/organizations/webhooks/\(endpoint.id)", ["state": "enabled"])
            #expect(enabled.json["state"]?.stringValue == "enabled" && enabled.json["disabled_reason"]?.stringValue == "")
            let target = try #require(deliveries.first)
            let deliveryID = try #require(target["id"]?.stringValue)
            let resent = try await server.post("/v1/organizations/webhooks/\(endpoint.id)/deliveries/\(deliveryID)/resend", [:])
            #expect(resent.status == 200 && resent.json["state"]?.stringValue == "pending")
            let requests = try await receiver.wait { $0.contains { $0.status == 204 } }
            let success = try #require(requests.first { $0.status == 204 })
            #expect(success.webhookID == target["event_id"]?.stringValue)
            #expect(success.verifies(with: endpoint.secret))
        }, thenStop: { await server.stop(); await receiver.stop() })
    }

    /// Events recorded while no process delivers are delivered after a restart.
    @Test func eventsWaitingInTheOutboxAreDeliveredAfterARestart() async throws {
        let receiver = try await WebhookReceiver.start()
        try await run({
            let directory = TemporaryDirectory.make()
            let first = try await TestServer.start(directory: directory) { configuration in
                Self.fast(&configuration)
                configuration.webhooks.deliveryEnabled = false
            }
            let endpoint: (id: String, secret: String)
            let sessionID: String
            do {
                endpoint = try await createEndpoint(first, url: receiver.url, events: ["session.created"])
                sessionID = try await first.makeSession()
            } catch {
                await first.stop()
                throw error
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(receiver.received.isEmpty)
            await first.stop()

            let second = try await TestServer.start(directory: directory, configure: Self.fast)
            try await run({
                let requests = try await receiver.wait { !$0.isEmpty }
                #expect(requests.map(\.eventType) == ["session.created"])
                #expect(requests.first?.json["data"]?["id"]?.stringValue == sessionID)
                #expect(requests.first?.verifies(with: endpoint.secret) == true)
            }, thenStop: second.stop)
        }, thenStop: receiver.stop)
    }
}

/// One attempt against a real receiver: what counts as failure, and the safety limits.
@Suite(.timeLimit(.minutes(3))) struct WebhookSenderTests {
    func withSender(timeout: Duration = .seconds(20), allowPrivate: Bool = true, _ body: (WebhookSender) async throws -> Void) async throws {
        let client = WebhookSender.makeClient(timeout: timeout, connectionsPerHost: 4)
        let sender = WebhookSender(
            client: client, urlGuard: WebhookURLGuard(policy: WebhookAddressPolicy(allowPrivateNetworks: allowPrivate)), timeout: timeout,
            maxResponseBytes: 4096)
        do {
            try await body(sender)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    let secret = WebhookSigningSecret.generate()
    let body = Data(#"{"type":"event"}"#.utf8)

    @Test func redirectsAreFailuresAndNotFollowed() async throws {
        let receiver = try await WebhookReceiver.start { _ in WebhookReceiver.Answer(status: 302, headers: [("location", "/hook")]) }
        try await run({
            try await withSender { sender in
                let result = await sender.send(url: receiver.url, secret: secret, eventID: "wevt_1", body: body)
                #expect(!result.succeeded)
                #expect(result.statusCode == 302)
                #expect(result.error == "HTTP 302 (redirects are not followed)")
            }
            try await Task.sleep(for: .milliseconds(100))
            #expect(receiver.received.count == 1)
        }, thenStop: receiver.stop)
    }

    @Test func responseBodiesAreReadOnlyUpToTheCap() async throws {
        let large = String(repeating: "x", count: 1 << 20)
        let receiver = try await WebhookReceiver.start { _ in WebhookReceiver.Answer(status: 200, body: large) }
        try await run({
            try await withSender { sender in
                let result = await sender.send(url: receiver.url, secret: secret, eventID: "wevt_1", body: body)
                #expect(result.succeeded)
                #expect(result.excerpt.utf8.count == 4096)
            }
        }, thenStop: receiver.stop)
    }

    @Test func slowReceiversTimeOut() async throws {
        let receiver = try await WebhookReceiver.start { _ in WebhookReceiver.Answer(status: 200, delay: .seconds(3)) }
        try await run({
            try await withSender(timeout: .milliseconds(300)) { sender in
                // The receiver would answer 200 after 3 s; no status and a timeout error show the 300 ms limit fired.
                let result = await sender.send(url: receiver.url, secret: secret, eventID: "wevt_1", body: body)
                #expect(!result.succeeded)
                #expect(result.statusCode == nil)
                #expect(result.error.hasPrefix("timed out"))
            }
        }, thenStop: receiver.stop)
    }

    @Test func privateAddressesAreRefusedAtDeliveryTime() async throws {
        let receiver = try await WebhookReceiver.start()
        try await run({
            try await withSender(allowPrivate: false) { sender in
                let result = await sender.send(url: receiver.url.replacingOccurrences(of: "http:", with: "https:"), secret: secret, eventID: "wevt_1", body: body)
                #expect(result.error.hasPrefix("refused: 127.0.0.1 is a loopback address"))
            }
            #expect(receiver.received.isEmpty)
        }, thenStop: receiver.stop)
    }

    @Test func unreachableReceiversFail() async throws {
        try await withSender { sender in
            let result = await sender.send(url: "http://127.0.0.1:1/hook", secret: secret, eventID: "wevt_1", body: body)
            #expect(!result.succeeded && result.statusCode == nil)
            #expect(!result.error.isEmpty)
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebhookFailFastTests {
    @Test func aClosedPortFailsTheAttemptAtOnce() async throws {
        // A port nothing listens on: bind one, then close it.
        let socket = try RawListeningPort()
        let port = socket.port
        socket.close()
        // Without failing fast the attempt would last the whole 30 s timeout.
        let client = WebhookSender.makeClient(timeout: .seconds(30), connectionsPerHost: 4)
        let sender = WebhookSender(
            client: client, urlGuard: WebhookURLGuard(policy: WebhookAddressPolicy(allowPrivateNetworks: true)), timeout: .seconds(30),
            maxResponseBytes: 4096)
        let started = ContinuousClock.now
        let result = await sender.send(
            url: "http://127.0.0.1:\(port)/hook", secret: WebhookSigningSecret.generate(), eventID: "wevt_1", body: Data("{}".utf8))
        try await client.shutdown()
        #expect(!result.succeeded)
        #expect(ContinuousClock.now - started < .seconds(5), "\(result)")
        #expect(result.latencyMilliseconds < 5000)
        #expect(result.error.contains("connection") || result.error.contains("refused"), "\(result.error)")
    }

    @Test func namesThatDoNotResolveOrEndInADotAreChecked() async throws {
        let strict = WebhookURLGuard(policy: WebhookAddressPolicy(allowPrivateNetworks: false), resolver: FakeHostResolver([:]))
        #expect(await strict.check("https://localhost./hook") == .refused(
            "'localhost.' is a loopback name; receivers on private networks are refused unless the server runs with --webhooks-allow-private"))
        #expect(await strict.check("https://nowhere.invalid/hook") == .refused("'nowhere.invalid' does not resolve to any address"))
    }
}
