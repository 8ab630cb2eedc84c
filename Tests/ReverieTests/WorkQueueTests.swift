import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieRuntime
import Testing

/// The work queue of `self_hosted` environments over real HTTP: a session whose tools run on
/// workers becomes a work item; leases are held by heartbeats and lapse back into the queue;
/// one worker at a time holds an item; the queue survives a restart; worker credentials reach
/// only their own environment and item.
@Suite(.serialized, .timeLimit(.minutes(3))) struct WorkQueueTests {
    static let oneBashCall = """
        {"rules": [
          {"name": "finish", "last_user_contains": "served-", "reply": "Done."},
          {"name": "slow", "last_user_contains": "slow go", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "sleep 4; echo served-slow"}}]},
          {"name": "start", "last_user_contains": "go", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo served-$RANDOM >> runs.txt; cat runs.txt"}}]}
        ]}
        """

    static func withHarness(
        leaseTTL: Int, _ body: (inout RuntimeHarness) async throws -> Void
    ) async throws {
        var harness = try await RuntimeHarness.start(try runtimeScenario(oneBashCall)) { configuration in
            configuration.work = WorkQueueSettings(leaseTTLSeconds: leaseTTL)
            configuration.server.apiKeyCacheLifetime = .zero
        }
        do {
            try await body(&harness)
            await harness.stop()
        } catch {
            await harness.stop()
            throw error
        }
    }

    @Test func aLeaseIsHeldByHeartbeatsAndLapsesBackIntoTheQueue() async throws {
        // Two seconds: long enough that a loaded machine cannot let the renewed lease lapse
        // during the 300 ms poll that checks it holds.
        try await Self.withHarness(leaseTTL: 2) { harness in
            let server = harness.server
            let fixture = try await SelfHostedFixture.make(on: server)
            let session = try await fixture.makeSession()
            #expect(try await fixture.pollsNothing(blockMilliseconds: 50))
            try await server.say(session, "go")
            let item = try await fixture.claim(workerID: "w1")
            let workID = try #require(item["id"]?.stringValue)
            #expect(item["type"] == "work")
            #expect(item["data"] == ["type": "session", "id": .string(session)])
            #expect(item["state"] == "queued")
            #expect(SelfHostedFixture.sessionsToken(item) != nil)
            // The session waits for the worker running, not idle.
            #expect(try await server.session(session)["status"] == "running")
            // Handed out once: another poll gets nothing while it is unacknowledged.
            #expect(try await fixture.pollsNothing(blockMilliseconds: 50, workerID: "w2"))
            let stats = try await fixture.call(.GET, fixture.work + "/stats").json
            #expect(stats["depth"] == 0 && stats["pending"] == 1 && stats["workers_polling"] == 3)

            let ack = try await fixture.call(.POST, fixture.work + "/\(workID)/ack")
            #expect(ack.json["state"] == "starting" && ack.json["acknowledged_at"]?.stringValue != nil)
            #expect(ack.json["secret"] == .null)
            let first = try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=NO_HEARTBEAT")
            #expect(first.status == 200)
            #expect(first.json["type"] == "work_heartbeat" && first.json["state"] == "active" && first.json["lease_extended"] == true)
            #expect(first.json["ttl_seconds"] == 2)
            let beat = try #require(first.json["last_heartbeat"]?.stringValue)
            // A heartbeat that expects another value is refused with the lease as held.
            let stale = try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=NO_HEARTBEAT")
            #expect(stale.status == 412)
            #expect(stale.json["error"]?["details"]?["error_code"] == "heartbeat_precondition_failed")
            #expect(stale.json["error"]?["details"]?["current_state"]?["last_heartbeat"] == .string(beat))
            #expect(stale.json["error"]?["details"]?["current_state"]?["lease_extended"] == false)
            let renewed = try await fixture.call(
                .POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=\(beat.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? beat)")
            #expect(renewed.status == 200 && renewed.json["last_heartbeat"]?.stringValue != beat)
            // While the lease holds, nobody else gets the item.
            #expect(try await fixture.pollsNothing(blockMilliseconds: 300, workerID: "w2"))

            // The lease lapses (TTL 2 s without a heartbeat): the next poll hands the item out again.
            let reclaimed = try await fixture.claim(workerID: "w2", timeout: .seconds(5))
            #expect(reclaimed["id"] == item["id"])
            let renewedBeat = try #require(renewed.json["last_heartbeat"]?.stringValue)
            let lost = try await fixture.call(
                .POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=\(renewedBeat.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? renewedBeat)")
            #expect(lost.status == 412)
            // The first worker's sessions token went with its lease.
            let oldToken = try #require(SelfHostedFixture.sessionsToken(item))
            let newToken = try #require(SelfHostedFixture.sessionsToken(reclaimed))
            #expect(try await fixture.call(.GET, "/v1/sessions/\(session)", credential: oldToken).status == 401)

            // The new holder serves the call with its token; the turn completes.
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/ack").status == 200)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=NO_HEARTBEAT", credential: newToken).status == 200)
            let use = try #require(try await server.events(session).ofType("agent.tool_use").first)
            let answer = try await fixture.postResult(session, toolUseID: use["id"]?.stringValue ?? "", text: "served-1", credential: newToken)
            #expect(answer.status == 200)
            // A second answer to the same call is refused: every call is answered once.
            #expect(try await fixture.postResult(session, toolUseID: use["id"]?.stringValue ?? "", text: "served-2").status == 400)
            let events = try await server.waitForIdle(session)
            #expect(events.ofType("agent.message").last?.contentText == "Done.")
            #expect(events.count(ofType: "agent.tool_result") == 0)

            // Stop ends it; stopping again is a conflict the SDK's worker ignores; the token is gone.
            let stopped = try await fixture.call(.POST, fixture.work + "/\(workID)/stop", json: ["force": true], credential: newToken)
            #expect(stopped.json["state"] == "stopped" && stopped.json["stopped_at"]?.stringValue != nil)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/stop", json: [:]).status == 409)
            #expect(try await fixture.call(.GET, "/v1/sessions/\(session)", credential: newToken).status == 401)
            // The session is idle, so nothing new was queued.
            #expect(try await fixture.pollsNothing(blockMilliseconds: 50))
            let retrieved = try await server.get(fixture.work + "/\(workID)")
            #expect(retrieved.json["state"] == "stopped" && retrieved.json["secret"] == .null)
        }
    }

    @Test func metadataMergesAndEachCredentialReachesOnlyWhatItMay() async throws {
        try await Self.withHarness(leaseTTL: 30) { harness in
            let server = harness.server
            let fixture = try await SelfHostedFixture.make(on: server)
            let other = try await SelfHostedFixture.make(on: server)
            let session = try await fixture.makeSession()
            let sibling = try await fixture.makeSession()
            let foreign = try await other.makeSession()
            try await server.say(session, "go")
            let item = try await fixture.claim()
            let workID = try #require(item["id"]?.stringValue)
            let token = try #require(SelfHostedFixture.sessionsToken(item))

            // update: API key only, metadata merged (null deletes).
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)", json: ["metadata": ["a": "1"]]).status == 403)
            _ = try await server.post(fixture.work + "/\(workID)", ["metadata": ["a": "1", "b": "2"]])
            let merged = try await server.post(fixture.work + "/\(workID)", ["metadata": ["b": .null, "c": "3"]])
            #expect(merged.json["metadata"] == ["a": "1", "c": "3"])
            // list: the environment key only.
            #expect(try await server.get(fixture.work).status == 403)
            #expect(try await fixture.call(.GET, fixture.work).json["data"]?.arrayValue?.map { $0["id"] } == [item["id"]])

            // The environment key: its sessions yes, another environment's no, the rest of the API no.
            #expect(try await fixture.call(.GET, "/v1/sessions/\(sibling)").status == 200)
            #expect(try await fixture.call(.GET, "/v1/sessions/\(foreign)").status == 404)
            #expect(try await fixture.call(.GET, "/v1/sessions/\(foreign)/events").status == 404)
            #expect(try await fixture.call(.GET, other.work + "/poll").status == 404)
            #expect(try await fixture.call(.GET, "/v1/agents").status == 403)
            #expect(try await fixture.call(.POST, "/v1/environments/\(fixture.environmentID)/keys", json: ["name": "x"]).status == 403)
            #expect(try await fixture.call(.DELETE, "/v1/sessions/\(session)").status == 403)
            // The item's token: its own session and lease only.
            #expect(try await fixture.call(.GET, "/v1/sessions/\(session)/events", credential: token).status == 200)
            #expect(try await fixture.call(.GET, "/v1/sessions/\(sibling)", credential: token).status == 404)
            #expect(try await fixture.call(.GET, fixture.work + "/poll", credential: token).status == 403)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat", credential: token).status == 412)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/ack", credential: token).status == 403)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/ack").status == 200)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat", credential: token).status == 200)

            // Unknown and revoked keys: 401, and the same answer whatever the key was.
            let unknown = try await fixture.call(.GET, fixture.work + "/poll", credential: "rvek_" + String(repeating: "x", count: 40))
            #expect(unknown.status == 401 && unknown.json["error"]?["message"] == "invalid API key")
            #expect(try await server.delete("/v1/environments/\(fixture.environmentID)/keys/\(fixture.keyID)").status == 200)
            let revoked = try await fixture.call(.GET, fixture.work + "/poll")
            #expect(revoked.status == 401 && revoked.json["error"]?["message"] == "invalid API key")
            #expect(try await server.delete("/v1/environments/\(other.environmentID)/keys/\(fixture.keyID)").status == 404)
            let listed = try await server.get("/v1/environments/\(fixture.environmentID)/keys").json["data"]?.arrayValue ?? []
            #expect(listed.count == 1 && listed[0]["revoked_at"]?.stringValue != nil && listed[0]["key"] == nil)

            // An environment goes with its keys and its work; a session with its items.
            let spare = try await SelfHostedFixture.make(on: server)
            #expect(try await spare.call(.GET, spare.work + "/stats").status == 200)
            #expect(try await server.delete("/v1/environments/\(spare.environmentID)").status == 200)
            #expect(try await spare.call(.GET, spare.work + "/stats").status == 401)
            #expect(try await server.delete("/v1/sessions/\(sibling)").status == 200)
            try await server.say(foreign, "go")
            let foreignItem = try await other.claim()
            #expect(try await other.call(.GET, other.work).json["data"]?.arrayValue?.count == 1)
            _ = try await server.post("/v1/sessions/\(foreign)/events", ["events": [["type": "user.interrupt"]]])
            _ = try await server.waitForIdle(foreign)
            #expect(try await server.delete("/v1/sessions/\(foreign)").status == 200)
            #expect(try await other.call(.GET, other.work).json["data"]?.arrayValue?.isEmpty == true)
            #expect(try await server.get(other.work + "/\(foreignItem["id"]?.stringValue ?? "")").status == 404)
        }
    }

    @Test func anInterruptEndsTheWaitAndALateResultIsRefused() async throws {
        try await Self.withHarness(leaseTTL: 30) { harness in
            let server = harness.server
            let fixture = try await SelfHostedFixture.make(on: server)
            let session = try await fixture.makeSession()
            try await server.say(session, "go")
            let item = try await fixture.claim()
            let use = try #require(try await server.events(session).ofType("agent.tool_use").first)
            // No loop runs while the call waits for the worker; the interrupt still ends the turn.
            try await server.send(session, [["type": "user.interrupt"]])
            let events = try await server.waitForIdle(session)
            let closed = try #require(events.ofType("agent.tool_result").first)
            #expect(closed["tool_use_id"] == use["id"] && closed["is_error"] == true)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])
            let late = try await fixture.postResult(
                session, toolUseID: use["id"]?.stringValue ?? "", text: "served-late", credential: SelfHostedFixture.sessionsToken(item))
            #expect(late.status == 400)
            // The item outlives the turn until its worker stops it; an idle session gets no new one.
            let workID = try #require(item["id"]?.stringValue)
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/stop", json: ["force": true]).json["state"] == "stopped")
            #expect(try await fixture.pollsNothing(blockMilliseconds: 50))
        }
    }

    @Test func aThreadsToolCallWaitsForTheWorkerAndItsResultFindsTheThread() async throws {
        let rules: [JSONValue] = [
            ["name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Clean up",
             "reply": [toolUse("start_thread", ["agent": "cleaner", "task": "Remove the temp files."])]],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished", "reply": "Cleanup reported."],
            ["name": "cleaner-ran", "system_contains": "You clean", "last_user_contains": "done-cleaning", "reply": "Cleaned."],
            ["name": "cleaner-start", "system_contains": "You clean", "last_user_contains": "Remove the temp",
             "reply": [toolUse("bash", ["command": "echo done-cleaning"])]],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in try await Self.serveThread(fixture) }
    }

    /// The thread scenario's body (a function of its own, like `ThreadActionTests.confirmInThread`).
    static func serveThread(_ fixture: ThreadFixture) async throws {
        let server = fixture.server
        let queue = try await SelfHostedFixture.make(on: server)
        let cleaner = try await fixture.agent("cleaner", system: "You clean files.")
        let lead = try await fixture.agent("lead", system: "You coordinate cleanups.", roster: [cleaner])
        let created = try await server.post("/v1/sessions", [
            "agent": .string(lead), "environment_id": .string(queue.environmentID), "initial_events": [userMessage("Clean up")],
        ])
        let session = try #require(created.json["id"]?.stringValue)
        let item = try await queue.claim()
        let waiting = try await fixture.waitFor(session) { events in events.contains { $0.type == .agentToolUse && $0.threadID != nil } }
        let use = try #require(waiting.first { $0.type == .agentToolUse && $0.threadID != nil })
        // Answered without naming the thread, as the SDK's session runner does: it lands in the call's thread.
        let answer = try await queue.postResult(session, toolUseID: use.id, text: "done-cleaning", credential: SelfHostedFixture.sessionsToken(item))
        #expect(answer.status == 200)
        #expect(answer.json["data"]?[0]?["session_thread_id"] == use.fields["session_thread_id"])
        let done = try await fixture.waitForIdle(session)
        #expect(done.last { $0.type == .agentMessage && $0.threadID == nil }?.text == "Cleanup reported.")
        #expect(!done.contains { $0.type == .agentToolResult && $0.threadID == use.threadID })
        // The result woke the waiting thread once: no second run after it finished.
        let settled = try await fixture.events(session)
        #expect(settled.filter { $0.type == .sessionThreadStatusRunning && $0.threadID == use.threadID }.count == 1)
        #expect(settled.filter { $0.type == .sessionStatusRunning && $0.threadID == nil }.count == 1)
    }

    @Test func theServerRestartedWhileAnItemIsLeasedLosesNothing() async throws {
        try await Self.withHarness(leaseTTL: 30) { harness in
            let fixture = try await SelfHostedFixture.make(on: harness.server)
            let session = try await fixture.makeSession()
            try await harness.server.say(session, "go")
            let item = try await fixture.claim()
            let workID = try #require(item["id"]?.stringValue)
            let token = try #require(SelfHostedFixture.sessionsToken(item))
            #expect(try await fixture.call(.POST, fixture.work + "/\(workID)/ack").status == 200)
            let beat = try await fixture.call(.POST, fixture.work + "/\(workID)/heartbeat?expected_last_heartbeat=NO_HEARTBEAT", credential: token)
            let last = try #require(beat.json["last_heartbeat"]?.stringValue)

            try await harness.restartServer()
            let restarted = SelfHostedFixture(server: harness.server, environmentID: fixture.environmentID, keyID: fixture.keyID, key: fixture.key)
            // The lease, its holder's token and the waiting call all survived.
            let renewed = try await restarted.call(
                .POST, restarted.work + "/\(workID)/heartbeat?expected_last_heartbeat=\(last.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? last)",
                credential: token)
            #expect(renewed.status == 200 && renewed.json["state"] == "active")
            #expect(try await restarted.pollsNothing(blockMilliseconds: 100))
            #expect(try await harness.server.session(session)["status"] == "running")
            let use = try #require(try await harness.server.events(session).ofType("agent.tool_use").first)
            #expect(try await restarted.postResult(session, toolUseID: use["id"]?.stringValue ?? "", text: "served-1", credential: token).status == 200)
            let events = try await harness.server.waitForIdle(session)
            #expect(events.ofType("agent.message").last?.contentText == "Done.")
            // Nothing was reported as interrupted by the restart.
            #expect(events.count(ofType: "agent.tool_result") == 0)
        }
    }

    /// `reverie worker` mounts the session's memory stores where the session says, read-only
    /// ones read-only, and what the agent's bash changes becomes memory versions by the session;
    /// the agent's skills are at `/mnt/skills/<name>`, read-only.
    @Test func aReverieWorkerMountsTheSessionsMemoryStoresAndSkills() async throws {
        try await Self.withHarness(leaseTTL: 10) { harness in
            let server = harness.server
            let fixture = try await SelfHostedFixture.make(on: server)
            let workerFolder = TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: workerFolder) }
            let notes = try #require(try await server.post("/v1/memory_stores", ["name": "notes"]).json["id"]?.stringValue)
            let rules = try #require(try await server.post("/v1/memory_stores", ["name": "rules"]).json["id"]?.stringValue)
            #expect(try await server.post("/v1/memory_stores/\(notes)/memories", ["path": "/lesson.md", "content": "check the logs first\n"]).status == 200)
            #expect(try await server.post("/v1/memory_stores/\(rules)/memories", ["path": "/fixed.md", "content": "never deploy on fridays\n"]).status == 200)
            let skill = try await server.platform.skills.create(displayName: nil, uploads: [
                SkillService.Upload(path: "tea-report/SKILL.md", content: Data("---\nname: tea-report\ndescription: Reports on tea.\n---\nSteep for four minutes.\n".utf8)),
                SkillService.Upload(path: "tea-report/scripts/steep.sh", content: Data("echo steeping\n".utf8)),
            ])
            let agent = try await server.makeAgent(tools: fullToolset)
            #expect(try await server.post("/v1/agents/\(agent)", ["version": 1, "skills": [["type": "custom", "skill_id": .string(skill.id)]]]).status == 200)
            let created = try await server.post("/v1/sessions", [
                "agent": .string(agent), "environment_id": .string(fixture.environmentID),
                "resources": [
                    ["type": "memory_store", "memory_store_id": .string(notes), "access": "read_write"],
                    ["type": "memory_store", "memory_store_id": .string(rules), "access": "read_only"],
                ],
            ])
            let session = try #require(created.json["id"]?.stringValue, "\(String(decoding: created.body, as: UTF8.self))")
            let mounts = (created.json["resources"]?.arrayValue ?? []).compactMap { $0["mount_path"]?.stringValue }
            #expect(mounts.count == 2)
            let (notesPath, rulesPath) = (mounts.first ?? "", mounts.last ?? "")
            let command = """
                cat \(notesPath)/lesson.md \(rulesPath)/fixed.md; echo 'read the deploy checklist' >> \(notesPath)/lesson.md; \
                echo 'new lesson' > \(notesPath)/new.md; (echo changed > \(rulesPath)/fixed.md) 2>/dev/null || echo read-only refused; \\
                cat /mnt/skills/tea-report/SKILL.md; sh /mnt/skills/tea-report/scripts/steep.sh; (echo x > /mnt/skills/tea-report/new) 2>/dev/null || echo skill-read-only; \\
                echo served-memory
                """
            await harness.mock.setScenario(try runtimeScenario("""
                {"rules": [
                  {"name": "finish", "last_user_contains": "served-", "reply": "Done."},
                  {"name": "memory", "last_user_contains": "go", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": \(try JSONCoding.string(JSONValue.string(command)))}}]}
                ]}
                """))
            let worker = try fixture.startWorker(dataDirectory: workerFolder, concurrency: 1)
            defer {
                worker.signal(SIGTERM)
                _ = worker.waitUntilExit()
            }
            try await server.say(session, "go")
            let events = try await server.waitForIdle(session, timeout: .seconds(40))
            let result = try #require(events.ofType("user.tool_result").first).contentText
            #expect(result.contains("check the logs first\nnever deploy on fridays\n"), "\(result)")
            #expect(result.contains("read-only refused"), "\(result)")
            // The agent's skill is there, read-only, as on the server.
            #expect(result.contains("Steep for four minutes.\nsteeping\nskill-read-only\n"), "\(result)")
            #expect(events.ofType("agent.message").last?.contentText == "Done.")

            func memories(_ store: String) async throws -> [String: String] {
                let listed = try await server.get("/v1/memory_stores/\(store)/memories?view=full").json["data"]?.arrayValue ?? []
                return Dictionary(uniqueKeysWithValues: listed.compactMap { item in
                    item["path"]?.stringValue.map { ($0, item["content"]?.stringValue ?? "") }
                })
            }
            #expect(try await memories(notes) == ["/lesson.md": "check the logs first\nread the deploy checklist\n", "/new.md": "new lesson\n"])
            #expect(try await memories(rules) == ["/fixed.md": "never deploy on fridays\n"])
            let bySession = try await server.get("/v1/memory_stores/\(notes)/memory_versions?session_id=\(session)").json["data"]?.arrayValue ?? []
            #expect(Set(bySession.compactMap { $0["operation"]?.stringValue }) == ["created", "modified"], "\(bySession)")
        }
    }

    @Test func twoWorkersServeEveryItemOnceAndAKilledWorkersItemIsReclaimed() async throws {
        try await Self.withHarness(leaseTTL: 2) { harness in
            let server = harness.server
            let fixture = try await SelfHostedFixture.make(on: server)
            let workerFolder = TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: workerFolder) }

            // A worker killed while it holds an item: after the lease TTL another takes it over.
            let doomed = try fixture.startWorker(dataDirectory: workerFolder, concurrency: 1)
            let first = try await fixture.makeSession()
            try await server.say(first, "slow go")
            let held = try await eventually(within: .seconds(20)) {
                let items = try await fixture.call(.GET, fixture.work).json["data"]?.arrayValue ?? []
                return items.contains { $0["state"] == "active" }
            }
            // Killed in the middle of the 4-second tool call.
            try await Task.sleep(for: .milliseconds(500))
            doomed.signal(SIGKILL)
            _ = await doomed.termination()
            #expect(held)

            let workers = try (0..<2).map { _ in try fixture.startWorker(dataDirectory: workerFolder, concurrency: 2) }
            defer {
                for worker in workers {
                    worker.signal(SIGTERM)
                    _ = worker.waitUntilExit()
                }
            }
            var sessions = [first]
            for _ in 0..<6 { sessions.append(try await fixture.makeSession()) }
            for session in sessions.dropFirst() { try await server.say(session, "go") }
            // The killed worker's call was answered by another worker, after its lease lapsed.
            let firstEvents = try await server.waitForIdle(first, timeout: .seconds(40))
            let use = try #require(firstEvents.ofType("agent.tool_use").first)
            let result = try #require(firstEvents.ofType("user.tool_result").first)
            let waited = (Timestamp.parse(result["processed_at"]?.stringValue ?? "") ?? .distantPast)
                .timeIntervalSince(Timestamp.parse(use["processed_at"]?.stringValue ?? "") ?? .distantFuture)
            #expect(waited > 4.5, "answered \(waited) s after the call: too soon for a rerun after the kill")
            #expect(result.contentText.contains("served-slow"))
            for session in sessions {
                let events = try await server.waitForIdle(session, timeout: .seconds(40))
                #expect(events.ofType("agent.message").last?.contentText == "Done.", "\(session)")
                #expect(events.count(ofType: "user.tool_result") == 1, "\(session)")
                #expect(events.count(ofType: "agent.tool_result") == 0, "\(session)")
            }
            // Each tool call ran exactly once on a worker (the killed one may have run the first
            // session's before dying, and then its answer is the one the session got).
            for session in sessions.dropFirst() {
                let runs = try String(contentsOfFile: workerFolder + "/sessions/\(session)/workspace/runs.txt", encoding: .utf8)
                #expect(runs.split(separator: "\n").count == 1, "\(session): \(runs)")
            }
            // The workers stop their items once the turns are over.
            let settled = try await eventually(within: .seconds(20)) {
                let items = try await fixture.call(.GET, fixture.work + "?limit=100").json["data"]?.arrayValue ?? []
                return items.allSatisfy { $0["state"] == "stopped" }
            }
            #expect(settled)
        }
    }
}
