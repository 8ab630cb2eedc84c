import Foundation
import ReverieCore
import ReverieModels
import ReverieRuntime
import Testing

/// Multi-agent orchestration: a coordinator delegating to specialist threads, run against
/// the mock model server over real HTTP.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ThreadTests {
    @Test func coordinatorFansOutToFiveSpecialistsSharingTheWorkspace() async throws {
        var rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Build the report",
                "reply": .array([["type": "text", "text": "Delegating."]] + (1...5).map { k in
                    toolUse("start_thread", ["agent": .string("spec-\(k)"), "task": .string("Write part \(k) of the report.")])
                }),
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "All five parts are done."],
            ["name": "spec-done", "system_contains": "You are specialist", "last_user_contains": "Created /workspace/part", "reply": "Wrote my part."],
        ]
        for k in 1...5 {
            rules.append([
                "name": .string("spec-write-\(k)"), "system_contains": "You are specialist", "last_user_contains": .string("Write part \(k) of"),
                // Held until all five are in flight at once (see below).
                "hold": "specialists",
                "reply": [toolUse("write", ["file_path": .string("/workspace/part\(k).txt"), "content": .string("Part \(k)")])],
            ])
        }
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            var specialists: [String] = []
            for k in 1...5 { specialists.append(try await fixture.agent("spec-\(k)", system: "You are specialist \(k).")) }
            let lead = try await fixture.agent("lead", system: "You coordinate the team.", roster: specialists)
            let sessionID = try await fixture.session(agent: lead, message: "Build the report")
            // The threads run at the same time: every specialist's first model call is in
            // flight, unanswered, together (run one after another, only one would ever be).
            let allFiveHeld = await eventually { await fixture.mock.held(at: "specialists") == 5 }
            #expect(allFiveHeld)
            await fixture.mock.openGate("specialists")
            let events = try await fixture.waitForIdle(sessionID)

            // The job: each specialist wrote its file in the shared workspace; the coordinator finished.
            for k in 1...5 {
                let text = try String(contentsOf: fixture.workspace(sessionID).appendingPathComponent("part\(k).txt"), encoding: .utf8)
                #expect(text == "Part \(k)")
            }
            let primary = events.filter { $0.threadID == nil }
            #expect(primary.last(where: { $0.type == .agentMessage })?.text == "All five parts are done.")
            #expect(primary.last?.type == .sessionStatusIdle)
            let waitResult = primary.last { $0.type == .agentToolResult }
            #expect(waitResult?.fields["is_error"] == false)
            #expect(waitResult?.text.components(separatedBy: "finished:\nWrote my part.").count == 6)

            // Each thread's life is in the log, tagged with its id.
            let created = events.filter { $0.type == .sessionThreadCreated }
            #expect(created.count == 5)
            #expect(Set(created.compactMap { $0.fields["agent_name"]?.stringValue }) == Set((1...5).map { "spec-\($0)" }))
            #expect(primary.filter { $0.type == .agentThreadMessageSent }.count == 5)
            for thread in created.compactMap(\.threadID) {
                let own = events.filter { $0.threadID == thread }.map(\.type)
                #expect(own.first == .sessionThreadCreated)
                #expect(own.contains(.agentThreadMessageReceived))
                #expect(own.contains(.sessionThreadStatusRunning))
                #expect(own.contains(.agentToolUse) && own.contains(.agentToolResult))
                #expect(own.contains(.agentThreadMessageSent))
                #expect(own.last == .sessionThreadStatusIdle)
            }
            // Thread events never entered the coordinator's conversation.
            #expect(!primary.contains { $0.type == .agentToolUse && $0.fields["name"] == "write" })

            let requests = await fixture.mock.requests().filter { $0.rule?.hasPrefix("spec-write-") == true }
            #expect(requests.count == 5)
            #expect(ThreadFixture.peakConcurrency(events) == 5)

            // The API: list, retrieve, per-thread events, usage rolled up on the session.
            let list = try await fixture.server.get("/v1/sessions/\(sessionID)/threads")
            #expect(list.status == 200)
            let threads = list.json["data"]?.arrayValue ?? []
            #expect(threads.count == 6)
            let children = threads.filter { $0["parent_thread_id"] != .null }
            let primaryThread = threads.first { $0["parent_thread_id"] == .null }
            #expect(children.count == 5)
            #expect(children.allSatisfy { $0["parent_thread_id"] == primaryThread?["id"] && $0["status"] == "idle" && $0["type"] == "session_thread" })
            #expect(children.allSatisfy { ($0["usage"]?["output_tokens"]?.intValue ?? 0) > 0 && number($0["stats"]?["active_seconds"]) > 0 })
            #expect(Set(children.compactMap { $0["agent"]?["name"]?.stringValue }) == Set((1...5).map { "spec-\($0)" }))
            let session = try await fixture.server.get("/v1/sessions/\(sessionID)")
            let childOutput = children.reduce(Int64(0)) { $0 + ($1["usage"]?["output_tokens"]?.intValue ?? 0) }
            let sessionOutput = session.json["usage"]?["output_tokens"]?.intValue ?? 0
            let primaryOutput = primaryThread?["usage"]?["output_tokens"]?.intValue ?? 0
            #expect(primaryOutput > 0)
            #expect(sessionOutput == childOutput + primaryOutput)

            let threadID = try #require(children.first?["id"]?.stringValue)
            let one = try await fixture.server.get("/v1/sessions/\(sessionID)/threads/\(threadID)")
            #expect(one.json["id"]?.stringValue == threadID)
            let threadEvents = try await fixture.server.get("/v1/sessions/\(sessionID)/threads/\(threadID)/events")
            let listed = threadEvents.json["data"]?.arrayValue ?? []
            #expect(listed.count == events.filter { $0.threadID == threadID }.count)
            #expect(listed.allSatisfy { $0["session_thread_id"]?.stringValue == threadID })
            let primaryEvents = try await fixture.server.get("/v1/sessions/\(sessionID)/threads/\(primaryThread?["id"]?.stringValue ?? "")/events?limit=1000")
            #expect(primaryEvents.json["data"]?.arrayValue?.count == primary.count)

            let archived = try await fixture.server.post("/v1/sessions/\(sessionID)/threads/\(threadID)/archive", [:])
            #expect(archived.status == 200)
            #expect(archived.json["archived_at"] != .null)
            let primaryArchive = try await fixture.server.post("/v1/sessions/\(sessionID)/threads/\(primaryThread?["id"]?.stringValue ?? "")/archive", [:])
            #expect(primaryArchive.status == 400)
            let missing = try await fixture.server.get("/v1/sessions/\(sessionID)/threads/sthr_missing")
            #expect(missing.status == 404)
            #expect(missing.errorType == "not_found_error")
        }
    }

    @Test func aFailingSpecialistIsReportedToTheCoordinator() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Check the data",
                "reply": [toolUse("start_thread", ["agent": "checker", "task": "Check the data set."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "FAILED", "reply": "The checker failed; I will report it."],
            ["name": "checker", "system_contains": "You check", "fail_with": 500, "error_message": "mock outage"],
        ]
        let retry = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20))
        try await ThreadFixture.with(try threadScenario(rules), retry: retry) { fixture in
            let checker = try await fixture.agent("checker", system: "You check data.")
            let lead = try await fixture.agent("lead", system: "You coordinate checks.", roster: [checker])
            let sessionID = try await fixture.session(agent: lead, message: "Check the data")
            let events = try await fixture.waitForIdle(sessionID)

            let created = events.first { $0.type == .sessionThreadCreated }
            let own = threadEvents(created?.threadID, in: events)
            #expect(!own.isEmpty)
            let retryStatuses = own.filter { $0.type == .sessionError }.map { $0.fields["error"]?["retry_status"]?["type"]?.stringValue ?? "" }
            #expect(retryStatuses == ["retrying", "retrying", "exhausted"])
            #expect(own.last?.type == .sessionThreadStatusIdle)
            #expect(own.last?.fields["stop_reason"]?["type"] == "retries_exhausted")
            let requests = await fixture.mock.requests().filter { $0.rule == "checker" }
            #expect(requests.count == 3)

            let primary = events.filter { $0.threadID == nil }
            let result = try #require(primary.last { $0.type == .agentToolResult })
            #expect(result.text.contains("FAILED"))
            #expect(result.fields["is_error"] == true)
            #expect(primary.last(where: { $0.type == .agentMessage })?.text == "The checker failed; I will report it.")
            #expect(primary.last?.type == .sessionStatusIdle)
            #expect(primary.last?.fields["stop_reason"]?["type"] == "end_turn")
        }
    }

    @Test func interruptingOneThreadStopsOnlyThatThread() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Do both",
                "reply": [toolUse("start_thread", ["agent": "slow", "task": "Slow job."]), toolUse("start_thread", ["agent": "fast", "task": "Fast job."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "interrupted", "reply": "One was stopped."],
            // Held for good: only the interrupt can end this call.
            ["name": "slow", "system_contains": "You are slow", "hold": "never", "reply": "slow answer"],
            ["name": "fast", "system_contains": "You are fast", "reply": "fast answer"],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let slow = try await fixture.agent("slow", system: "You are slow.")
            let fast = try await fixture.agent("fast", system: "You are fast.")
            let lead = try await fixture.agent("lead", system: "You coordinate two.", roster: [slow, fast])
            let sessionID = try await fixture.session(agent: lead, message: "Do both")
            // Wait until the fast thread is done and the slow one is calling its model.
            let before = try await fixture.waitFor(sessionID) { events in
                let created = events.filter { $0.type == .sessionThreadCreated }
                guard created.count == 2 else { return false }
                let fastThread = created.first { $0.fields["agent_name"] == "fast" }?.threadID
                let slowThread = created.first { $0.fields["agent_name"] == "slow" }?.threadID
                return events.contains { $0.threadID == fastThread && $0.type == .sessionThreadStatusIdle }
                    && events.contains { $0.threadID == slowThread && $0.type == .spanModelRequestStart }
            }
            let slowCreated = before.first { $0.type == .sessionThreadCreated && $0.fields["agent_name"] == "slow" }
            let slowThread = slowCreated?.threadID ?? ""
            let reply = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
                "events": [["type": "user.interrupt", "session_thread_id": .string(slowThread)]],
            ])
            #expect(reply.status == 200)
            let events = try await fixture.waitForIdle(sessionID)

            let own = threadEvents(slowThread, in: events)
            #expect(own.last?.type == .sessionThreadStatusIdle)
            #expect(own.contains { $0.type == .spanModelRequestEnd && $0.fields["is_error"] == true })
            #expect(!own.contains { $0.type == .agentMessage })
            let primary = events.filter { $0.threadID == nil }
            let result = try #require(primary.last { $0.type == .agentToolResult })
            #expect(result.text.contains("(fast) finished:\nfast answer"))
            #expect(result.text.contains("(slow) was interrupted"))
            // The coordinator itself was not interrupted: it went on to answer.
            #expect(primary.last(where: { $0.type == .agentMessage })?.text == "One was stopped.")

            let unknown = try await fixture.server.post("/v1/sessions/\(sessionID)/events", [
                "events": [["type": "user.interrupt", "session_thread_id": "sthr_nope"]],
            ])
            #expect(unknown.status == 400)
        }
    }

    @Test func interruptWithoutAThreadStopsTheCoordinatorAndEveryThread() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Start three",
                "reply": .array((1...3).map { k in toolUse("start_thread", ["agent": "sleeper", "task": .string("Nap \(k).")]) }),
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            // Held for good: only the interrupt can end these calls.
            ["name": "sleeper", "system_contains": "You sleep", "hold": "never", "reply": "awake"],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let sleeper = try await fixture.agent("sleeper", system: "You sleep.")
            let lead = try await fixture.agent("lead", system: "You coordinate sleepers.", roster: [sleeper])
            let sessionID = try await fixture.session(agent: lead, message: "Start three")
            _ = try await fixture.waitFor(sessionID) { events in
                events.filter { $0.threadID != nil && $0.type == .spanModelRequestStart }.count == 3
                    && events.contains { $0.threadID == nil && $0.type == .agentToolUse && $0.fields["name"] == "wait_for_threads" }
            }
            let reply = try await fixture.server.post("/v1/sessions/\(sessionID)/events", ["events": [["type": "user.interrupt"]]])
            #expect(reply.status == 200)
            let events = try await fixture.waitFor(sessionID) { events in
                events.filter { $0.type == .sessionThreadStatusIdle }.count == 3
                    && events.contains { $0.threadID == nil && $0.type == .sessionStatusIdle }
            }
            #expect(!events.contains { $0.type == .agentMessage })
            let list = try await fixture.server.get("/v1/sessions/\(sessionID)/threads?statuses[]=running")
            #expect(list.json["data"]?.arrayValue?.isEmpty == true)
            let session = try await fixture.server.get("/v1/sessions/\(sessionID)")
            #expect(session.json["status"] == "idle")
        }
    }

    @Test func aThreadRunningAtShutdownResumesAfterARestart() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Long job",
                "reply": [toolUse("start_thread", ["agent": "slow", "task": "A long job."])],
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_regex": "Started thread|Stopped waiting|server restart",
             "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "Resumed and done."],
            // The first call is held until the restart cuts it; the retry after it is answered.
            ["name": "slow", "system_contains": "You are slow", "hold": "never", "times": 1, "reply": "too late"],
            ["name": "slow-again", "system_contains": "You are slow", "reply": "long job done"],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let slow = try await fixture.agent("slow", system: "You are slow.")
            let lead = try await fixture.agent("lead", system: "You coordinate one.", roster: [slow])
            let sessionID = try await fixture.session(agent: lead, message: "Long job")
            _ = try await fixture.waitFor(sessionID) { events in
                events.contains { $0.threadID != nil && $0.type == .spanModelRequestStart }
            }
            let second = try await fixture.restarted()
            do {
                let events = try await second.waitForIdle(sessionID)
                let created = events.first { $0.type == .sessionThreadCreated }
                let own = threadEvents(created?.threadID, in: events)
                // The request cut by the shutdown is closed, the thread ran again and finished.
                #expect(own.filter { $0.type == .spanModelRequestEnd && $0.fields["is_error"] == true }.count == 1)
                #expect(own.contains { $0.type == .agentMessage && $0.text == "long job done" })
                #expect(own.last?.type == .sessionThreadStatusIdle)
                let primary = events.filter { $0.threadID == nil }
                #expect(primary.last(where: { $0.type == .agentMessage })?.text == "Resumed and done.")
                let thread = try await second.server.get("/v1/sessions/\(sessionID)/threads/\(created?.threadID ?? "")")
                #expect(thread.json["status"] == "idle")
            } catch {
                await second.server.stop()
                throw error
            }
            await second.server.stop()
        }
    }

    @Test func aThreadStillRunningUnderAnIdleCoordinatorResumesAfterARestart() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Fire and forget",
                "reply": [toolUse("start_thread", ["agent": "slow", "task": "A long job."])],
            ],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": "Started; not waiting."],
            ["name": "slow", "system_contains": "You are slow", "latency_ms": 30_000, "times": 1, "reply": "too late"],
            ["name": "slow-again", "system_contains": "You are slow", "reply": "long job done"],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let slow = try await fixture.agent("slow", system: "You are slow.")
            let lead = try await fixture.agent("lead", system: "You coordinate one.", roster: [slow])
            let sessionID = try await fixture.session(agent: lead, message: "Fire and forget")
            // The coordinator ends its turn while the thread's model call is still in flight.
            let events = try await fixture.waitFor(sessionID) { events in
                events.contains { $0.threadID == nil && $0.type == .agentMessage && $0.text == "Started; not waiting." }
                    && events.contains { $0.threadID != nil && $0.type == .spanModelRequestStart }
            }
            let threadID = try #require(events.first { $0.type == .sessionThreadCreated }?.threadID)
            let second = try await fixture.restarted()
            do {
                let deadline = ContinuousClock.now + .seconds(30)
                var status: JSONValue?
                while ContinuousClock.now < deadline {
                    status = try await second.server.get("/v1/sessions/\(sessionID)/threads/\(threadID)").json["status"]
                    if status == "idle" { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(status == "idle", "the thread must not stay running after a restart")
                let log = try await second.server.get("/v1/sessions/\(sessionID)/threads/\(threadID)/events?limit=100")
                #expect(log.json["data"]?.arrayValue?.contains { $0["type"] == "agent.message" } == true)
            } catch {
                await second.server.stop()
                throw error
            }
            await second.server.stop()
        }
    }

    @Test func thirtyRequestedThreadsRunTwentyFiveAtOnceAndAllComplete() async throws {
        let rules: [JSONValue] = [
            [
                "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Thirty jobs",
                "reply": .array((1...30).map { k in toolUse("start_thread", ["agent": "worker", "task": .string("Job \(k).")]) }),
            ],
            ["name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [toolUse("wait_for_threads", [:])]],
            ["name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "All jobs done."],
            ["name": "worker", "system_contains": "You work", "latency_ms": 10000, "reply": "job done"],
        ]
        try await ThreadFixture.with(try threadScenario(rules)) { fixture in
            let worker = try await fixture.agent("worker", system: "You work.")
            let lead = try await fixture.agent("lead", system: "You coordinate many.", roster: [worker])
            let sessionID = try await fixture.session(agent: lead, message: "Thirty jobs")
            let events = try await fixture.waitForIdle(sessionID, timeout: .seconds(120))

            let created = events.filter { $0.type == .sessionThreadCreated }
            #expect(created.count == 30)
            for thread in created.compactMap(\.threadID) {
                let own = events.filter { $0.threadID == thread }
                #expect(own.last?.type == .sessionThreadStatusIdle)
                #expect(own.contains { $0.type == .agentMessage && $0.text == "job done" })
            }
            #expect(ThreadFixture.peakConcurrency(events) == 25)
            #expect(await fixture.server.host.runner?.peakConcurrentThreads(sessionID: sessionID) == 25)
            #expect(await fixture.mock.requests().filter { $0.rule == "worker" }.count == 30)
            let result = try #require(events.last { $0.threadID == nil && $0.type == .agentToolResult })
            #expect(result.text.components(separatedBy: "finished:\njob done").count == 31)
            #expect(events.last(where: { $0.threadID == nil && $0.type == .agentMessage })?.text == "All jobs done.")
        }
    }
}

/// A JSON number as a Double (0 when absent).
private func number(_ value: JSONValue?) -> Double {
    switch value {
    case .double(let number)?: number
    case .int(let number)?: Double(number)
    default: 0
    }
}

/// The events of one thread.
private func threadEvents(_ threadID: String?, in events: [SessionEvent]) -> [SessionEvent] {
    guard let threadID else { return [] }
    return events.filter { $0.threadID == threadID }
}
