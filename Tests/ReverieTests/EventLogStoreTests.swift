import Foundation
import Synchronization
import Testing
@testable import ReverieCore
@testable import ReverieStore
@testable import ReverieStorePostgres

/// Whether the holding transaction has begun, and whether it may end.
final class WriterHoldFlags: Sendable {
    let entered = Mutex(false)
    let released = Mutex(false)
}

/// The event log of every store (one suite, run against SQLite and PostgreSQL).
@Suite(.timeLimit(.minutes(3))) struct EventLogStoreTests {
    func makeSession(_ store: any Store) async throws -> String {
        let now = Timestamp.now()
        let agent = Agent(id: ResourceID.make("agent"), name: "a", model: ModelConfig(id: "m"), createdAt: now, updatedAt: now)
        try await store.createAgent(agent)
        let session = Session(
            id: ResourceID.make("sesn"), agent: SessionAgent(agent), environmentID: "env_x", title: nil, metadata: [:], resources: [],
            createdAt: now, updatedAt: now)
        _ = try await store.createSession(session, initialEvents: [])
        return session.id
    }

    /// Runs `body` (which starts concurrent appends) while a transaction holds the writer,
    /// and releases the writer only once at least `count` appends are bound for one
    /// transaction: a group commit provably forms.
    func withWriterHeld<T>(_ handle: StoreHandle, sessions: [String], untilWaiting count: Int, _ body: () async throws -> T) async throws -> T {
        let flags = WriterHoldFlags()
        let holder = Task {
            try await handle.holdingWriter(
                sessionIDs: sessions, until: { flags.released.withLock { $0 } }, entered: { flags.entered.withLock { $0 = true } })
        }
        #expect(await eventually { flags.entered.withLock { $0 } })
        let releaser = Task {
            // Either a batch already took `count` (it waits for the writer too), or `count`
            // wait for the next one, which will take them all.
            let queued = await eventually { max(handle.groupCommitCounts.largestBatch, handle.groupCommitCounts.waiting) >= count }
            flags.released.withLock { $0 = true }
            return queued
        }
        let result = try await body()
        #expect(await releaser.value, "fewer than \(count) appends were ever queued together")
        try await holder.value
        return result
    }

    func message(_ text: String) -> SessionEvent {
        SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": .string(text)]]])
    }

    @Test(arguments: StoreBackend.allCases) func concurrentAppendsGetGaplessSequences(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for index in 0..<25 {
                        _ = try await store.appendEvents([message("\(writer)-\(index)")], to: sessionID, check: { _ in })
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = try await store.events(sessionID: sessionID, after: 0, limit: 1000)
        #expect(all.map(\.sequence) == Array(1...200))
        #expect(Set(all.map(\.id)).count == 200)
        #expect(try await store.sessionHeader(id: sessionID)?.state.lastSequence == 200)
    }

    /// Concurrent appends share transactions (group commit): a refused append among them fails
    /// alone, the others are stored with gapless sequences, and the state every append
    /// returned is the one that is stored (read back after reopening the file).
    @Test(arguments: StoreBackend.allCases) func refusedAppendsInABurstLeaveTheOthersIntact(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessions = [try await makeSession(store), try await makeSession(store), try await makeSession(store)]
        let outcomes = try await withWriterHeld(handle, sessions: sessions, untilWaiting: 75) { try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for index in 0..<150 {
                group.addTask {
                    let sessionID = sessions[index % sessions.count]
                    do {
                        _ = try await store.appendEvents([message("\(index)")], to: sessionID) { _ in
                            if index % 5 == 0 { throw APIError.invalidRequest("refused \(index)") }
                        }
                        return (sessionID, true)
                    } catch let error as APIError {
                        #expect(error.message == "refused \(index)")
                        return (sessionID, false)
                    }
                }
            }
            var outcomes: [(String, Bool)] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        } }
        // At least half of the burst shared one transaction, refused appends among them.
        #expect(handle.groupCommitCounts.largestBatch >= 75)
        #expect(outcomes.filter { !$0.1 }.count == 30)
        var cached: [String: SessionHeader] = [:]
        for sessionID in sessions { cached[sessionID] = try await store.sessionHeader(id: sessionID) }
        let reopened = try await handle.reopen()
        for sessionID in sessions {
            let accepted = outcomes.filter { $0.0 == sessionID && $0.1 }.count
            let events = try await reopened.events(sessionID: sessionID, after: 0, limit: 1000)
            #expect(events.map(\.sequence) == Array(1...Int64(accepted)))
            #expect(try events.allSatisfy { Int(try $0.event().text).map { $0 % 5 != 0 } == true })
            let stored = try #require(try await reopened.sessionHeader(id: sessionID))
            #expect(stored.state.lastSequence == Int64(accepted))
            #expect(cached[sessionID] == stored)
        }
    }

    /// An append whose write fails (here: an event id already in the log) fails alone, also
    /// when it shares a group commit with others: they are stored, gapless, and nothing of it.
    @Test(arguments: StoreBackend.allCases) func anAppendThatFailsToWriteFailsAlone(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        let (_, first) = try await store.appendEvents([message("first")], to: sessionID, check: { _ in })
        let taken = try #require(first.first?.id)
        let retriesBefore = handle.groupCommitCounts.isolatedRetries
        let outcomes = try await withWriterHeld(handle, sessions: [sessionID], untilWaiting: 20) { try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<40 {
                group.addTask {
                    var event = message("\(index)")
                    if index == 17 { event = SessionEvent(id: taken, type: .userMessage, fields: event.fields) }
                    do {
                        _ = try await store.appendEvents([event], to: sessionID, check: { _ in })
                        return true
                    } catch {
                        #expect(index == 17, "only the duplicate fails: \(error)")
                        return false
                    }
                }
            }
            var outcomes: [Bool] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        } }
        // The failing append shared a transaction with others, so the batch ran again with a
        // savepoint per append (once: the retry isolates it).
        #expect(handle.groupCommitCounts.largestBatch >= 20)
        #expect(handle.groupCommitCounts.isolatedRetries == retriesBefore + 1)
        #expect(outcomes.filter { !$0 }.count == 1)
        let events = try await store.events(sessionID: sessionID, after: 0, limit: 1000)
        #expect(events.map(\.sequence) == Array(1...40))
        #expect(try await store.sessionHeader(id: sessionID)?.state.lastSequence == 40)
        #expect(try events.filter { try $0.event().text == "17" }.isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func appendFoldsStatusAndUsage(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        let start = Timestamp.now()
        _ = try await store.appendEvents([SessionEvent(type: .sessionStatusRunning, processedAt: start)], to: sessionID, check: { _ in })
        #expect(try await store.session(id: sessionID)?.status == .running)
        let usage: JSONValue = ["input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 1, "cache_creation_input_tokens": 2]
        _ = try await store.appendEvents(
            [
                SessionEvent(type: .spanModelRequestEnd, processedAt: start, fields: ["model_usage": usage, "model_request_start_id": "x"]),
                SessionEvent(type: .sessionStatusIdle, processedAt: start.addingTimeInterval(2), fields: ["stop_reason": ["type": "end_turn"]]),
            ], to: sessionID, check: { _ in })
        let session = try #require(try await store.session(id: sessionID))
        #expect(session.status == .idle)
        #expect(session.usage.inputTokens == 10 && session.usage.outputTokens == 5)
        #expect(session.usage.cacheReadInputTokens == 1 && session.usage.cacheCreationInputTokens == 2)
        #expect(abs(session.stats.activeSeconds - 2) < 0.01)
        let outbox = try await store.pendingOutboxEvents(limit: 100).map(\.type)
        #expect(outbox.contains("session.running") && outbox.contains("session.idled") && outbox.contains("session.created"))
    }

    @Test(arguments: StoreBackend.allCases) func refusedAppendWritesNothing(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        await #expect(throws: APIError.self) {
            try await store.appendEvents([message("x")], to: sessionID) { _ in throw APIError.invalidRequest("no") }
        }
        #expect(try await store.events(sessionID: sessionID, after: 0, limit: 10).isEmpty)
    }

    @Test(arguments: StoreBackend.allCases) func paginatesForwardAndBackward(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        for index in 0..<25 { _ = try await store.appendEvents([message("\(index)")], to: sessionID, check: { _ in }) }
        var seen: [Int64] = []
        var request = PageRequest(limit: 10, order: .ascending)
        var pages: [Page<StoredEvent>] = []
        while true {
            let page = try await store.listEvents(sessionID: sessionID, filter: EventFilter(), page: request)
            pages.append(page)
            seen += page.items.map(\.sequence)
            guard let next = page.next else { break }
            request.cursor = next
        }
        #expect(seen == Array(1...25))
        #expect(pages.count == 3)
        // Walk back from the last page.
        let back = try await store.listEvents(
            sessionID: sessionID, filter: EventFilter(), page: PageRequest(limit: 10, cursor: pages[2].previous, order: .ascending))
        #expect(back.items.map(\.sequence) == Array(11...20))
        let descending = try await store.listEvents(sessionID: sessionID, filter: EventFilter(), page: PageRequest(limit: 5, order: .descending))
        #expect(descending.items.map(\.sequence) == [25, 24, 23, 22, 21])
        let filtered = try await store.listEvents(
            sessionID: sessionID, filter: EventFilter(types: [.userInterrupt]), page: PageRequest(limit: 5))
        #expect(filtered.items.isEmpty && filtered.next == nil)
    }

    @Test(arguments: StoreBackend.allCases) func dataSurvivesReopening(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let sessionID = try await makeSession(store)
        _ = try await store.appendEvents([message("persisted")], to: sessionID, check: { _ in })
        let reopened = try await handle.reopen()
        let events = try await reopened.events(sessionID: sessionID, after: 0, limit: 10)
        #expect(events.count == 1)
        #expect(try events[0].event().text == "persisted")
    }

    @Test(arguments: StoreBackend.allCases) func agentVersionsAreKept(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        let store = handle.store
        let now = Timestamp.now()
        let agent = Agent(id: ResourceID.make("agent"), name: "v1", model: ModelConfig(id: "m"), createdAt: now, updatedAt: now)
        try await store.createAgent(agent)
        let updated = try await store.updateAgent(id: agent.id) { current in
            var next = current
            next.name = "v2"
            next.version += 1
            return next
        }
        #expect(updated.version == 2)
        #expect(try await store.agent(id: agent.id, version: 1)?.name == "v1")
        #expect(try await store.agent(id: agent.id)?.name == "v2")
        let versions = try await store.listAgentVersions(id: agent.id, page: PageRequest(limit: 10))
        #expect(versions.items.map(\.version) == [2, 1])
    }
}
