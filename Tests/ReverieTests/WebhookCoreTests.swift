import Foundation
import Testing
@testable import ReverieCore
import ReverieExecution
@testable import ReverieRuntime

@Suite(.timeLimit(.minutes(3))) struct WebhookSignatureTests {
    /// The Standard Webhooks reference vector (the same value the `standardwebhooks` Python
    /// package and the Svix documentation give).
    @Test func signsTheReferenceVector() throws {
        let secret = try #require(WebhookSigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Data(#"{"test": 2432232314}"#.utf8)
        let signature = WebhookSignature.sign(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(WebhookSignature.verify(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body,
                                        signatureHeader: "v0,xxx " + signature))
        #expect(!WebhookSignature.verify(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_331, body: body,
                                         signatureHeader: signature))
        #expect(!WebhookSignature.verify(secret: secret, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                         body: Data(#"{"test": 2432232315}"#.utf8), signatureHeader: signature))
    }

    @Test func generatedSecretsAre32RandomBytesWithThePrefix() throws {
        let one = WebhookSigningSecret.generate()
        let two = WebhookSigningSecret.generate()
        #expect(one.key.count == 32)
        #expect(one != two)
        #expect(one.text.hasPrefix("whsec_"))
        #expect(Data(base64Encoded: String(one.text.dropFirst(6)))?.count == 32)
        #expect(WebhookSigningSecret(one.text) == one)
        #expect("\(one)" == "whsec_…")
        #expect(WebhookSigningSecret("whsec_") == nil)
        #expect(WebhookSigningSecret("whsec_!!!") == nil)
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebhookRetryPolicyTests {
    @Test func standardScheduleSpansAboutADay() {
        let policy = WebhookRetryPolicy.standard
        #expect(policy.maxAttempts == 10)
        let ceilings = (1...9).map { policy.ceiling(retry: $0) }
        #expect(ceilings == [60, 180, 540, 1620, 4860, 14580, 28800, 28800, 28800])
        // Longest round ~30 h; with jitter 0.5 the shortest is half of it (~15 h).
        #expect(policy.longestRound > 24 * 3600 && policy.longestRound < 36 * 3600)
        #expect(policy.longestRound * (1 - policy.jitter) > 12 * 3600)
    }

    @Test func delaysAreJitteredWithinTheCeilingAndStopAfterTheLastAttempt() {
        let policy = WebhookRetryPolicy.standard
        #expect(policy.delay(afterAttempts: 1, random: 0) == 60)
        #expect(policy.delay(afterAttempts: 1, random: 1) == 30)
        #expect(policy.delay(afterAttempts: 3, random: 0.5) == 540 * 0.75)
        #expect(policy.delay(afterAttempts: 9, random: 0) == 28800)
        #expect(policy.delay(afterAttempts: 10, random: 0) == nil)
        let full = WebhookRetryPolicy(jitter: 1)
        #expect(full.delay(afterAttempts: 2, random: 1) == 0)
        let samples = (0..<200).compactMap { _ in policy.delay(afterAttempts: 4, random: Double.random(in: 0..<1)) }
        #expect(samples.allSatisfy { $0 >= 810 && $0 <= 1620 })
        #expect(Set(samples).count > 100)
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebhookAddressTests {
    @Test(arguments: [
        ("127.0.0.1", NetworkAddress.Scope.loopback), ("127.8.9.10", .loopback), ("10.1.2.3", .private), ("172.16.0.1", .private),
        ("172.31.255.255", .private), ("172.32.0.1", .public), ("192.168.1.1", .private), ("100.64.0.1", .private),
        ("169.254.169.254", .linkLocal), ("0.0.0.0", .unusable), ("224.0.0.1", .unusable), ("255.255.255.255", .unusable),
        ("93.184.216.34", .public), ("8.8.8.8", .public), ("::1", .loopback), ("::", .unusable), ("fd00::1", .uniqueLocal),
        ("fc12:3456::1", .uniqueLocal), ("fe80::1", .linkLocal), ("ff02::1", .unusable), ("::ffff:127.0.0.1", .loopback),
        ("::ffff:10.0.0.1", .private), ("::ffff:8.8.8.8", .public), ("64:ff9b::a9fe:a9fe", .linkLocal), ("2002:0a00:0001::1", .private),
        ("2606:4700:4700::1111", .public), ("[::1]", .loopback), ("100.127.255.255", .private), ("100.128.0.1", .public),
        ("192.0.2.1", .unusable), ("198.51.100.7", .unusable), ("203.0.113.9", .unusable), ("192.0.3.1", .public),
        ("2001:db8::1", .unusable), ("100::1", .unusable), ("::ffff:169.254.169.254", .linkLocal),
    ])
    func classifies(_ text: String, _ scope: NetworkAddress.Scope) throws {
        let address = try #require(NetworkAddress(text))
        #expect(address.scope == scope)
    }

    @Test func parsesAndPrintsAddresses() {
        #expect(NetworkAddress("1.2.3") == nil)
        #expect(NetworkAddress("256.1.1.1") == nil)
        #expect(NetworkAddress("1::2::3") == nil)
        #expect(NetworkAddress("example.com") == nil)
        #expect(NetworkAddress("2001:db8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(NetworkAddress("::ffff:1.2.3.4")?.bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4])
        #expect(NetworkAddress("::1")?.urlHost == "[::1]")
    }

    @Test func policyRefusesPrivateUnlessAllowedAndUnusableAlways() throws {
        let strict = WebhookAddressPolicy()
        let open = WebhookAddressPolicy(allowPrivateNetworks: true)
        let loopback = try #require(NetworkAddress("127.0.0.1"))
        let metadata = try #require(NetworkAddress("169.254.169.254"))
        let any = try #require(NetworkAddress("0.0.0.0"))
        let publicAddress = try #require(NetworkAddress("93.184.216.34"))
        #expect(strict.refusal(for: loopback)?.contains("loopback") == true)
        #expect(strict.refusal(for: metadata)?.contains("link-local") == true)
        #expect(strict.refusal(for: publicAddress) == nil)
        #expect(open.refusal(for: loopback) == nil)
        #expect(open.refusal(for: any) != nil)
    }

    /// A name that resolves to a private address is refused, whatever the name looks like
    /// (DNS rebinding); every address counts.
    @Test func urlGuardChecksEveryResolvedAddress() async throws {
        struct Stub: HostResolver {
            func addresses(of host: String) async -> [NetworkAddress] {
                switch host {
                case "rebind.example": [NetworkAddress("93.184.216.34"), NetworkAddress("10.0.0.7")].compactMap { $0 }
                case "public.example": [NetworkAddress("93.184.216.34")].compactMap { $0 }
                default: []
                }
            }
        }
        let strict = WebhookURLGuard(policy: WebhookAddressPolicy(), resolver: Stub())
        guard case .refused(let reason) = await strict.check("https://rebind.example/hook") else {
            Issue.record("rebinding name accepted")
            return
        }
        #expect(reason.contains("10.0.0.7"))
        #expect(await strict.check("https://public.example/hook") == .allowed(host: "public.example", addresses: [NetworkAddress("93.184.216.34")!]))
        #expect(await strict.check("https://unresolvable.example/hook") == .refused("'unresolvable.example' does not resolve to any address"))
        if case .allowed = await strict.check("http://public.example/hook") { Issue.record("plain http accepted by a strict server") }
        if case .allowed = await strict.check("https://localhost:8443/hook") { Issue.record("localhost accepted by a strict server") }
        if case .allowed = await strict.check("https://[::1]/hook") { Issue.record("::1 accepted by a strict server") }
        let open = WebhookURLGuard(policy: WebhookAddressPolicy(allowPrivateNetworks: true), resolver: Stub())
        // An open server accepts the rebinding name and pins both of its addresses.
        let rebind = try #require(NetworkAddress("93.184.216.34"))
        let privateAddress = try #require(NetworkAddress("10.0.0.7"))
        #expect(await open.check("http://rebind.example/hook") == .allowed(host: "rebind.example", addresses: [rebind, privateAddress]))
        let loopback = try #require(NetworkAddress("127.0.0.1"))
        #expect(await open.check("http://127.0.0.1:9/hook") == .allowed(host: "127.0.0.1", addresses: [loopback]))
    }

    @Test func plainHTTPIsPinnedToTheCheckedAddress() throws {
        let address = try #require(NetworkAddress("10.0.0.7"))
        let pinned = try #require(WebhookURLGuard.destination(url: "http://hooks.example:8080/in?x=1", host: "hooks.example", addresses: [address]))
        #expect(pinned.url == "http://10.0.0.7:8080/in?x=1")
        #expect(pinned.hostHeader == "hooks.example:8080")
        let tls = try #require(WebhookURLGuard.destination(url: "https://hooks.example/in", host: "hooks.example", addresses: [address]))
        #expect(tls.url == "https://hooks.example/in")
        #expect(tls.hostHeader == nil)
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebhookPayloadTests {
    @Test func envelopeMatchesTheSDKShape() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000.5)
        let event = OutboxEvent(id: "wevt_1", type: "session.thread_idled", resourceID: "sesn_1", createdAt: date,
                                attributes: ["session_thread_id": "sthr_1"])
        let payload = WebhookPayload(event: event, organizationID: "org_x", workspaceID: "wrkspc_y")
        let body = try payload.body()
        #expect(String(decoding: body, as: UTF8.self) == #"{"created_at":"2026-11-18T11:06:40.500000Z","data":{"id":"sesn_1","organization_id":"org_x","session_thread_id":"sthr_1","type":"session.thread_idled","workspace_id":"wrkspc_y"},"id":"wevt_1","type":"event"}"#)
        #expect(try payload.body() == body)
    }

    @Test func threadEventsCarryTheThreadID() throws {
        var event = SessionEvent(type: .sessionThreadCreated, processedAt: Date(), fields: [:])
        event.threadID = "sthr_9"
        let outbox = try #require(OutboxEvent.forSessionEvent(event, sessionID: "sesn_1").first)
        #expect(outbox.type == "session.thread_created")
        #expect(outbox.attributes == ["session_thread_id": "sthr_9"])
        let idle = SessionEvent(type: .sessionStatusIdle, processedAt: Date(), fields: ["stop_reason": ["type": "end_turn"]])
        #expect(OutboxEvent.forSessionEvent(idle, sessionID: "sesn_1").map(\.type) == ["session.idled", "session.status_idled"])
        #expect(OutboxEvent.forSessionEvent(idle, sessionID: "sesn_1").allSatisfy { $0.attributes.isEmpty })
        let waiting = SessionEvent(type: .sessionStatusIdle, processedAt: Date(), fields: ["stop_reason": ["type": "requires_action"]])
        #expect(OutboxEvent.forSessionEvent(waiting, sessionID: "sesn_1").map(\.type) == ["session.requires_action", "session.status_idled"])
        let spent = SessionEvent(type: .sessionStatusIdle, processedAt: Date(), fields: ["stop_reason": ["type": "budget_reached"]])
        #expect(OutboxEvent.forSessionEvent(spent, sessionID: "sesn_1").map(\.type) == ["session.idled", "session.status_idled", "session.budget_reached"])
        let running = SessionEvent(type: .sessionStatusRunning, processedAt: Date(), fields: [:])
        #expect(OutboxEvent.forSessionEvent(running, sessionID: "sesn_1").map(\.type) == ["session.running", "session.status_run_started"])
        // A status event inside a child thread is not the session's status.
        var threadIdle = idle
        threadIdle.threadID = "sthr_9"
        #expect(OutboxEvent.forSessionEvent(threadIdle, sessionID: "sesn_1").isEmpty)
    }

    @Test func everyEmittedTypeIsAccepted() {
        for type in WebhookEventType.emitted + WebhookEventType.compatibility {
            #expect(WebhookEventType.accepted.contains(type))
        }
        #expect(WebhookEventType.accepted.contains("dream.completed"))
        #expect(!WebhookEventType.accepted.contains("session.terminated"))
    }

    @Test func dreamEventsFollowTheDreamStatus() {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        let created = OutboxEvent.dream(type: .created, dreamID: "drm_1", at: date)
        #expect(created.type == "dream.created" && created.resourceID == "drm_1" && created.createdAt == date)
        #expect(created.id.hasPrefix("wevt_") && created.attributes.isEmpty)
        let types = Dream.Status.allCases.map { OutboxEvent.dream(status: $0, dreamID: "drm_1").type }
        #expect(types == ["dream.created", "dream.running", "dream.completed", "dream.failed", "dream.canceled"])
        #expect(WebhookEventType.dream == types + ["dream.promoted", "dream.awaiting_review"])
    }
}

@Suite(.timeLimit(.minutes(3))) struct WebhookEndpointRequestTests {
    func reader(_ json: JSONValue) throws -> ObjectReader { try ObjectReader(json) }

    @Test func createNeedsAURLAndAtLeastOneKnownEventType() throws {
        func error(_ json: JSONValue, allowHTTP: Bool = true) -> String? {
            do {
                _ = try WebhookEndpointRequest(try reader(json), creating: true, allowPlainHTTP: allowHTTP)
                return nil
            } catch let error as APIError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(error(["enabled_events": ["session.idled"]]) == "url: required")
        #expect(error(["url": "https://a.example/h"])?.hasPrefix("enabled_events: required") == true)
        #expect(error(["url": "https://a.example/h", "enabled_events": []]) == "enabled_events: must list at least one event type")
        #expect(error(["url": "https://a.example/h", "enabled_events": ["session.idled", "session.bogus"]])?
            .hasPrefix("enabled_events[1]: unknown event type 'session.bogus'") == true)
        #expect(error(["url": "http://a.example/h", "enabled_events": ["session.idled"]], allowHTTP: false)?.hasPrefix("url: must be an https://") == true)
        #expect(error(["url": "ftp://a.example/h", "enabled_events": ["session.idled"]])?.hasPrefix("url: must be an https://") == true)
        #expect(error(["url": "https://u:p@a.example/h", "enabled_events": ["session.idled"]]) == "url: must not contain credentials")
        #expect(error(["url": "https://a.example/h", "enabled_events": ["session.idled"], "secret": "x"]) == "secret: unknown field")
        let request = try WebhookEndpointRequest(
            try reader(["url": "https://a.example/h", "name": "n", "enabled_events": ["dream.completed", "session.idled", "dream.completed"]]),
            creating: true, allowPlainHTTP: false)
        let endpoint = request.makeEndpoint(id: "whep_1", now: Date())
        #expect(endpoint.enabledEvents == ["dream.completed", "session.idled"])
        #expect(endpoint.description == "")
        #expect(endpoint.state == .enabled)
    }

    @Test func updateChangesOnlyWhatIsSent() throws {
        let now = Date()
        var current = WebhookEndpoint(id: "whep_1", url: "https://a.example/h", name: "a", enabledEvents: ["session.idled"],
                                      createdAt: now, updatedAt: now)
        current.state = .disabled
        current.disabledReason = "Disabled automatically"
        let later = now.addingTimeInterval(5)
        let empty = try WebhookEndpointRequest(try reader(["enabled_events": []]), creating: false, allowPlainHTTP: false)
        #expect(empty.applied(to: current, now: later) == current)
        let enable = try WebhookEndpointRequest(try reader(["state": "enabled", "name": "b"]), creating: false, allowPlainHTTP: false)
        let next = enable.applied(to: current, now: later)
        #expect(next.state == .enabled)
        #expect(next.disabledReason == "")
        #expect(next.name == "b")
        #expect(next.enabledEvents == ["session.idled"])
        #expect(next.updatedAt == later)
        #expect(throws: APIError.self) {
            try WebhookEndpointRequest(try reader(["state": "paused"]), creating: false, allowPlainHTTP: false)
        }
    }

    @Test func endpointEncodesExactlyTheSDKFields() throws {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        let endpoint = WebhookEndpoint(id: "whep_1", url: "https://a.example/h", enabledEvents: ["session.idled"], createdAt: date, updatedAt: date)
        let json = try JSONCoding.value(endpoint)
        #expect(Set(json.objectValue?.keys.map { $0 } ?? []) == [
            "id", "created_at", "description", "disabled_reason", "enabled_events", "name", "state", "updated_at", "url",
        ])
        let created = try JSONCoding.value(NewWebhookEndpoint(endpoint: endpoint, signingSecret: "whsec_x"))
        #expect(created["signing_secret"]?.stringValue == "whsec_x")
        #expect(created["state"]?.stringValue == "enabled")
    }
}
