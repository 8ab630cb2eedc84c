import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieRuntime
import Testing

/// Dreams as durable background jobs: cancel, archive, in-place conflicts, restarts, review
/// and request validation.
@Suite(.timeLimit(.minutes(3))) struct DreamLifecycleTests {
    static let operations: JSONValue = [
        proposal("add", "/lessons/new.md", content: "New lesson."),
        proposal("update", "/lessons/old.md", content: "Refined lesson.", session: "S1"),
        proposal("delete", "/lessons/stale.md"),
    ]

    static func inputs(_ fixture: DreamFixture) async throws -> (store: String, sessions: [String]) {
        let store = try await fixture.makeStore([
            ("/lessons/old.md", "Old lesson.", false), ("/lessons/stale.md", "Stale.", false), ("/a.md", "A", false), ("/b.md", "B", false),
        ])
        let session = try await fixture.makeSession(DreamFixture.workLog(task: "x", kilobytes: 2))
        return (store, [session])
    }

    @Test func cancelAndArchiveFollowTheStatus() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations, latencyMs: 30_000)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let dream = try await fixture.createDream(store: store, sessions: sessions)
            _ = try await fixture.wait(dream.id, for: [.running])
            let archiveRunning = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/archive")
            #expect(archiveRunning.status == 400 && archiveRunning.errorType == "invalid_request_error")

            let canceled = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/cancel")
            #expect(canceled.status == 200)
            #expect(canceled.json["status"] == "canceled")
            #expect(canceled.json["ended_at"]?.stringValue != nil)
            let again = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/cancel")
            #expect(again.status == 200 && again.json["status"] == "canceled")
            // The work stopped: the dream stays canceled and its task is gone.
            let deadline = ContinuousClock.now + .seconds(10)
            while await fixture.server.host.dreamRunner?.activeDreamCount != 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await fixture.server.host.dreamRunner?.activeDreamCount == 0)
            #expect(try await fixture.platform.dreams.dream(id: dream.id).status == .canceled)

            let archived = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/archive")
            #expect(archived.status == 200 && archived.json["archived_at"]?.stringValue != nil)
            let listed = try await fixture.server.request(.GET, "/v1/dreams")
            #expect(listed.json["data"]?.arrayValue?.isEmpty == true)
            let all = try await fixture.server.request(.GET, "/v1/dreams?include_archived=true")
            #expect(all.json["data"]?.arrayValue?.count == 1)
        }
    }

    @Test func aCompletedDreamCannotBeCanceled() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .completed)
            let cancel = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/cancel")
            #expect(cancel.status == 400 && cancel.errorType == "invalid_request_error")
            let listed = try await fixture.server.request(.GET, "/v1/dreams?statuses[]=completed")
            #expect(listed.json["data"]?.arrayValue?.map { $0["id"] } == [.string(dream.id)])
            let none = try await fixture.server.request(.GET, "/v1/dreams?statuses[]=failed")
            #expect(none.json["data"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func twoInPlaceDreamsOnOneStoreConflict() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations, latencyMs: 30_000)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let inPlace: [String: JSONValue] = ["output_behavior": ["type": "update_existing", "memory_store_id": .string(store)]]
            let first = try await fixture.createDream(store: store, sessions: sessions, extra: inPlace)
            await #expect(throws: APIError.self) { _ = try await fixture.createDream(store: store, sessions: sessions, extra: inPlace) }
            let body: JSONValue = [
                "inputs": [["type": "memory_store", "memory_store_id": .string(store)], ["type": "sessions", "session_ids": .array(sessions.map(JSONValue.string))]],
                "model": "claude-dreamer", "output_behavior": ["type": "update_existing"],
            ]
            let second = try await fixture.server.request(.POST, "/v1/dreams", json: body)
            #expect(second.status == 409 && second.errorType == "conflict_error")
            #expect(second.json["error"]?["message"]?.stringValue?.contains(first.id) == true)
            // A dream writing a new store does not conflict.
            let parallel = try await fixture.createDream(store: store, sessions: sessions)
            _ = try await fixture.platform.dreams.cancelDream(id: parallel.id)
            _ = try await fixture.platform.dreams.cancelDream(id: first.id)
            // Once the first ended, the store can be dreamed over in place again.
            let third = try await fixture.createDream(store: store, sessions: sessions, extra: inPlace)
            _ = try await fixture.platform.dreams.cancelDream(id: third.id)
        }
    }

    @Test func aDreamInterruptedByARestartCompletesAfterIt() async throws {
        let slow = try dreamerScenario(candidates: [], operations: Self.operations, latencyMs: 30_000)
        let directory = TemporaryDirectory.make()
        let first = try await DreamFixture.start(slow, directory: directory)
        let (store, sessions) = try await Self.inputs(first)
        let dream = try await first.createDream(store: store, sessions: sessions)
        _ = try await first.wait(dream.id, for: [.running])
        await first.server.stop()

        await first.mock.setScenario(try dreamerScenario(candidates: [], operations: Self.operations))
        let second = try await DreamFixture.start(slow, directory: directory, mock: first.mock)
        let finished = try await second.wait(dream.id)
        #expect(finished.status == .completed)
        let contents = try await second.contents(try #require(finished.outputStoreID))
        #expect(contents["/lessons/new.md"] == "New lesson.")
        #expect(contents["/lessons/stale.md"] == nil)
        await second.stop()
    }

    @Test func aDreamStoppedWhileWritingReappliesItsSavedPlanWithoutTheModel() async throws {
        let directory = TemporaryDirectory.make()
        let first = try await DreamFixture.start(try dreamerScenario(candidates: [], operations: []), directory: directory)
        let (store, sessions) = try await Self.inputs(first)
        // A dream whose plan was saved and which was stopped before it finished writing.
        var dream = Dream(
            id: ResourceID.make(ResourceID.dream), memoryStoreID: store, sessionIDs: sessions, model: "claude-dreamer", instructions: nil,
            outputBehavior: .createNew, tokenBudget: 50_000, createdAt: Timestamp.now())
        try await first.server.host.store.createDream(dream)
        let log = try await first.server.host.store.events(sessionID: sessions[0], after: 0, limit: 10)
        let evidence = [Evidence(sessionID: sessions[0], eventIDs: [log[0].id])]
        try await first.server.host.store.saveDreamReport(DreamReport(dreamID: dream.id, operations: [
            DreamOperation(id: "op_1", action: .add, path: "/lessons/saved.md", content: "From the saved plan.", rationale: "r", evidence: evidence),
            DreamOperation(id: "op_2", action: .delete, path: "/a.md", content: nil, previousContent: "A", rationale: "r", evidence: evidence),
        ]))
        dream = try await first.server.host.store.updateDream(id: dream.id) { var next = $0; next.status = .running; next.stage = "write"; return next }
        await first.server.stop()

        let second = try await DreamFixture.start(try dreamerScenario(candidates: [], operations: []), directory: directory, mock: first.mock)
        let finished = try await second.wait(dream.id)
        #expect(finished.status == .completed)
        let contents = try await second.contents(try #require(finished.outputStoreID))
        #expect(contents["/lessons/saved.md"] == "From the saved plan.")
        #expect(contents["/a.md"] == nil && contents["/b.md"] == "B")
        #expect(await second.mock.requests().isEmpty, "a saved plan is applied without asking the model again")
        await second.stop()
    }

    @Test func reviewAcceptsAndRevertsOperations() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            let output = try #require(dream.outputStoreID)
            let report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            let ids = Dictionary(uniqueKeysWithValues: report.operations.map { ($0.path, $0.id) })
            let add = try #require(ids["/lessons/new.md"]), update = try #require(ids["/lessons/old.md"]), delete = try #require(ids["/lessons/stale.md"])

            let rejected = try await fixture.server.request(
                .POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "reject", "operation_ids": [.string(add), .string(update), .string(delete)]])
            #expect(rejected.status == 200)
            var contents = try await fixture.contents(output)
            #expect(contents["/lessons/new.md"] == nil)
            #expect(contents["/lessons/old.md"] == "Old lesson.")
            #expect(contents["/lessons/stale.md"] == "Stale.")
            let markdown = try await fixture.server.request(.GET, "/v1/dreams/\(dream.id)/report?format=markdown")
            #expect(markdown.status == 200 && markdown.text.contains("Review: rejected"))
            // Reverts are versions by the dream.
            let versions = try await fixture.server.host.store.listMemoryVersions(
                storeID: output, MemoryVersionFilter(actor: .dream(dream.id)), page: PageRequest(limit: 100))
            #expect(versions.items.count >= 7)

            let flip = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "accept", "operation_ids": [.string(add)]])
            #expect(flip.status == 409)
            let same = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "reject", "operation_ids": [.string(add)]])
            #expect(same.status == 200)
            let unknown = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "accept", "operation_ids": ["op_99"]])
            #expect(unknown.status == 400)
            let bad = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "maybe"])
            #expect(bad.status == 400 && bad.errorType == "invalid_request_error")
            contents = try await fixture.contents(output)
            #expect(contents["/lessons/old.md"] == "Old lesson.")
        }
    }

    @Test func reviewingAcceptsEverythingPendingAndRefusesEditedMemories() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            let output = try #require(dream.outputStoreID)
            // Someone edits a memory the dream wrote: rejecting that operation must not clobber the edit.
            try await fixture.platform.memory.writeMemory(storeID: output, path: "/lessons/new.md", content: "Edited by a person.", actor: .user("me"))
            let report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            let add = try #require(report.operations.first { $0.path == "/lessons/new.md" }?.id)
            let refused = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "reject", "operation_ids": [.string(add)]])
            #expect(refused.status == 409)
            #expect(try await fixture.contents(output)["/lessons/new.md"] == "Edited by a person.")
            let all = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "accept"])
            #expect(all.status == 200)
            #expect(all.json["operations"]?.arrayValue?.allSatisfy { $0["review"] == "accepted" } == true)
        }
    }

    /// Someone pins, over the memory API, a memory the dream updated: rejecting that update
    /// would make the dream change a pinned memory, so the review answers 409 conflict_error
    /// and the memory keeps the dream's content (and its pin).
    @Test func rejectingAnOperationOnAMemoryPinnedSinceIs409() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            let output = try #require(dream.outputStoreID)
            let memory = try #require(try await fixture.platform.memory.readMemory(storeID: output, path: "/lessons/old.md"))
            #expect(memory.content == "Refined lesson.")
            let pinned = try await fixture.server.post("/v1/memory_stores/\(output)/memories/\(memory.memoryID)", ["pinned": true])
            #expect(pinned.status == 200 && pinned.json["pinned"] == true)
            let report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            let update = try #require(report.operations.first { $0.path == "/lessons/old.md" }?.id)

            let refused = try await fixture.server.request(.POST, "/v1/dreams/\(dream.id)/review", json: ["decision": "reject", "operation_ids": [.string(update)]])
            #expect(refused.status == 409)
            #expect(refused.errorType == "conflict_error")
            #expect(refused.json["error"]?["message"]?.stringValue?.contains("pinned") == true, "\(refused.json)")
            let after = try await fixture.platform.memory.readMemory(storeID: output, path: "/lessons/old.md")
            #expect(after?.content == "Refined lesson.")
            #expect(after?.pinned == true)
        }
    }

    @Test func badRequestsGetClearErrors() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: [])) { fixture in
            let (store, sessions) = try await Self.inputs(fixture)
            let sessionsInput: JSONValue = ["type": "sessions", "session_ids": .array(sessions.map(JSONValue.string))]
            let storeInput: JSONValue = ["type": "memory_store", "memory_store_id": .string(store)]
            let cases: [(JSONValue, String)] = [
                (["inputs": [storeInput], "model": "m"], "inputs"),
                (["inputs": [storeInput, storeInput, sessionsInput], "model": "m"], "inputs"),
                (["inputs": [storeInput, sessionsInput]], "model"),
                (["inputs": [storeInput, ["type": "sessions", "session_ids": .array((0...100).map { .string("sesn_\($0)") })]], "model": "m"], "session_ids"),
                (["inputs": [storeInput, ["type": "sessions", "session_ids": ["sesn_missing"]]], "model": "m"], "sesn_missing"),
                (["inputs": [["type": "memory_store", "memory_store_id": "memstore_missing"], sessionsInput], "model": "m"], "memstore_missing"),
                (["inputs": [storeInput, sessionsInput], "model": "m", "instructions": .string(String(repeating: "x", count: 4097))], "instructions"),
                (["inputs": [storeInput, sessionsInput], "model": "m", "token_budget": 10], "token_budget"),
                (["inputs": [storeInput, sessionsInput], "model": "m", "surprise": true], "surprise"),
            ]
            for (body, mention) in cases {
                let reply = try await fixture.server.request(.POST, "/v1/dreams", json: body)
                #expect(reply.status == 400, "\(body)")
                #expect(reply.errorType == "invalid_request_error")
                #expect(reply.json["error"]?["message"]?.stringValue?.contains(mention) == true, "\(reply.json)")
            }
            let missing = try await fixture.server.request(.GET, "/v1/dreams/drm_missing")
            #expect(missing.status == 404 && missing.errorType == "not_found_error")
            #expect(try await fixture.server.request(.GET, "/v1/dreams?statuses[]=sleeping").status == 400)
        }
    }
}

/// A dreamer whose answers are not clean JSON still completes its dream: prose around the
/// object is ignored, and a reply with no operations is asked for once more.
@Suite(.timeLimit(.minutes(3))) struct DreamerReplyTests {
    @Test func proseAroundTheAnswerAndOneBadAnswerStillComplete() async throws {
        let operations: JSONValue = [proposal("add", "/lessons/new.md", content: "Run ./scripts/test.sh before saying done.")]
        let good = try JSONCoding.string(JSONValue.object(["operations": operations]))
        let extract = try JSONCoding.string(JSONValue.object(["candidates": []]))
        let scenario = MockScenario(rules: [
            MockRule(name: "extract", systemContains: "propose lessons", MockStep(reply: [.text("Sure! Here you go:\n" + extract + "\nThat is all.")])),
            // The first curation answer holds no operations; asked again, the dreamer answers in prose around the JSON.
            MockRule(name: "curate", systemContains: "You maintain a memory store", sequence: [
                MockStep(reply: [.text("I think the store looks fine, {\"note\": \"nothing to say\"}.")]),
                MockStep(reply: [.text("My apologies. Here is the plan:\n```json\n" + good + "\n```\nDone.")]),
            ]),
        ])
        try await DreamFixture.with(scenario) { fixture in
            let (store, sessions) = try await DreamLifecycleTests.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .completed, "\(String(describing: dream.error))")
            let output = try #require(dream.outputStoreID)
            #expect(try await fixture.contents(output)["/lessons/new.md"] == "Run ./scripts/test.sh before saying done.")
            let curations = await fixture.mock.requests().filter { $0.systemText.contains("You maintain a memory store") }
            #expect(curations.count == 2, "asked once more after the answer without operations")
        }
    }
}
