import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieStore
import Testing

/// Restarts that must not make things worse: an interrupt stored while no loop ran is honoured
/// before any model call, and a session that keeps failing when resumed is stopped.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ResumptionTests {
    /// The model never answers (the request is held), so the session stays mid-turn.
    static let hanging = MockScenario(rules: [MockRule(MockStep(reply: [.text("never")], hold: "never"))])

    /// A session left `running` mid-model-call by a stopped server.
    func leaveRunning(_ harness: inout RuntimeHarness) async throws -> String {
        let server = harness.server
        let session = try await server.makeRuntimeSession()
        try await server.send(session, [["type": "user.message", "content": [["type": "text", "text": "work"]]]])
        let deadline = ContinuousClock.now + .seconds(10)
        while await harness.mock.requests().isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await harness.mock.requests().count == 1)
        await server.stop()
        return session
    }

    /// Changes the stopped server's database directly (as another process would).
    func withDatabase(_ harness: RuntimeHarness, _ body: (SQLiteStore) async throws -> Void) async throws {
        let store = try SQLiteStore(path: harness.server.directory + "/reverie.sqlite")
        try await body(store)
        try await store.close()
    }

    @Test func anInterruptStoredWhileNoLoopRanStopsTheSessionBeforeAnyModelCall() async throws {
        var harness = try await RuntimeHarness.start(Self.hanging)
        do {
            let session = try await leaveRunning(&harness)
            // Stored while the server was down (as if the process died right after accepting it).
            try await withDatabase(harness) { store in
                #expect(try await store.sessionHeader(id: session)?.status == .running)
                _ = try await store.appendEvents([SessionEvent(type: .userInterrupt, fields: [:])], to: session) { _ in }
            }
            await harness.mock.clearRequests()
            try await harness.restartServer()
            let events = try await harness.server.waitForEvents(session, "the interrupt to be honoured") { events in
                events.after(lastOf: "user.interrupt").contains { $0["type"] == "session.status_idle" }
            }
            #expect(await harness.mock.requests().isEmpty, "no model call after the stored interrupt")
            #expect(events.after(lastOf: "user.interrupt").contains { $0["type"] == "session.status_idle" })
            #expect(try await harness.server.host.store.sessionHeader(id: session)?.status == .idle)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func aSessionThatKeepsCrashingWhenResumedIsStoppedAndCanBeDeleted() async throws {
        var harness = try await RuntimeHarness.start(Self.hanging)
        do {
            let session = try await leaveRunning(&harness)
            // Its last three resumptions each ended with the process dying.
            try await withDatabase(harness) { store in
                for _ in 0..<3 { _ = try await store.recordResumption(sessionID: session) }
            }
            await harness.mock.clearRequests()
            try await harness.restartServer()
            let events = try await harness.server.waitForIdle(session)
            let error = try #require(events.last { $0["type"] == "session.error" })
            #expect(error["error"]?["message"]?.stringValue?.contains("last 3 resumptions") == true)
            #expect(await harness.mock.requests().isEmpty, "not resumed")
            #expect(try await harness.server.delete("/v1/sessions/\(session)").status == 200)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    @Test func aResumptionThatEndsNormallyResetsTheCount() async throws {
        var harness = try await RuntimeHarness.start(Self.hanging)
        do {
            let session = try await leaveRunning(&harness)
            try await withDatabase(harness) { store in _ = try await store.recordResumption(sessionID: session) }
            await harness.mock.setScenario(MockScenario(rules: [MockRule(MockStep.text("done"))]))
            try await harness.restartServer()
            _ = try await harness.server.waitForIdle(session)
            // Graceful or normal endings are not crashes.
            #expect(try await harness.server.host.store.resumptionCount(sessionID: session) == 0)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
