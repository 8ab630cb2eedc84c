import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryUsageTests {
    @Test(arguments: StoreBackend.allCases) func readsAreRecordedWithHowSessionsEnded(_ backend: StoreBackend) async throws {
        let fixture = try await MemoryFixture(backend)
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let v1 = try await platform.memory.writeMemory(storeID: store.id, path: "/tips.md", content: "v1", actor: apiActor)
            let good = try await fixture.makeSession(mounting: [store.id])
            let bad = try await fixture.makeSession(mounting: [store.id])

            let read = MemoryRead(storeID: store.id, memoryID: v1.id, versionID: v1.versionID)
            try await platform.memory.recordMemoryReads(sessionID: good.id, [read], at: Timestamp.fromMicros(1_000))
            try await platform.memory.recordMemoryReads(sessionID: good.id, [read], at: Timestamp.fromMicros(2_000))
            let v2 = try await platform.memory.writeMemory(storeID: store.id, path: "/tips.md", content: "v2", actor: .session(good.id))
            try await platform.memory.recordMemoryReads(
                sessionID: good.id, [MemoryRead(storeID: store.id, memoryID: v2.id, versionID: v2.versionID)], at: Timestamp.fromMicros(3_000))
            try await platform.memory.recordMemoryReads(
                sessionID: bad.id, [MemoryRead(storeID: store.id, memoryID: v2.id, versionID: v2.versionID)], at: Timestamp.fromMicros(4_000))

            // The good session ends its turn with a satisfied outcome; the bad one is terminated.
            try await platform.log.append(
                [
                    SessionEvent(type: .userDefineOutcome, fields: ["outcome_id": "outc_1", "description": "ship it"]),
                    SessionEvent(type: .sessionStatusRunning),
                    SessionEvent(type: .spanOutcomeEvaluationEnd, fields: ["outcome_id": "outc_1", "result": "satisfied", "iteration": 1]),
                    SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]),
                ], to: good.id)
            try await platform.log.append(
                [SessionEvent(type: .sessionStatusRunning), SessionEvent(type: .sessionStatusTerminated, fields: ["stop_reason": ["type": "retries_exhausted"]])],
                to: bad.id)

            let usage = try await platform.memory.memoryUsage(storeID: store.id, memoryID: v1.id).items
            #expect(usage.map(\.sessionID) == [bad.id, good.id])
            let goodUsage = try #require(usage.first { $0.sessionID == good.id })
            #expect(goodUsage.versionIDs == [v1.versionID, v2.versionID])
            #expect(goodUsage.readCount == 3)
            #expect(goodUsage.firstReadAt == Timestamp.fromMicros(1_000))
            #expect(goodUsage.lastReadAt == Timestamp.fromMicros(3_000))
            #expect(goodUsage.sessionStatus == .idle)
            #expect(goodUsage.stopReason == ["type": "end_turn"])
            #expect(goodUsage.outcomeEvaluations.map(\.result) == ["satisfied"])
            let badUsage = try #require(usage.first { $0.sessionID == bad.id })
            #expect(badUsage.sessionStatus == .terminated)
            #expect(badUsage.stopReason == ["type": "retries_exhausted"])
            #expect(badUsage.versionIDs == [v2.versionID])

            #expect(try await platform.memory.memoryReads(sessionID: good.id).map(\.versionID) == [v1.versionID, v2.versionID])

            // Wire form.
            let json = try JSONCoding.value(goodUsage)
            #expect(json["type"] == "memory_usage")
            #expect(json["memory_version_ids"] == .array([.string(v1.versionID), .string(v2.versionID)]))
            #expect(json["session_status"] == "idle")

            // Unknown versions and sessions are refused; deleting a session removes its usage.
            await #expect(throws: APIError.self) {
                try await platform.memory.recordMemoryReads(sessionID: good.id, [MemoryRead(storeID: store.id, memoryID: v1.id, versionID: "memver_nope")])
            }
            await #expect(throws: APIError.notFound("session", "sesn_nope")) { try await platform.memory.recordMemoryReads(sessionID: "sesn_nope", [read]) }
            try await platform.sessions.deleteSession(id: bad.id)
            #expect(try await platform.memory.memoryUsage(storeID: store.id, memoryID: v1.id).items.map(\.sessionID) == [good.id])
            // Paging.
            let first = try await platform.memory.memoryUsage(storeID: store.id, memoryID: v1.id, page: PageRequest(limit: 1))
            #expect(first.items.count == 1)
            #expect(first.next == nil)
        }, thenStop: fixture.cleanUp)
    }
}
