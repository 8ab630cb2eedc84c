import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieRuntime
import Testing

/// Reviewing withheld operations, promoting a dream's output into its input store, and the
/// report as people read it.
@Suite(.timeLimit(.minutes(3))) struct DreamPromotionTests {
    static let correction = "No, that is wrong. In this repo we always run ./scripts/test.sh, never pytest directly. See docs/testing.md."

    /// A session where the user corrects the agent (the correction is line e5 of its digest).
    static func correctedSession(_ fixture: DreamFixture) async throws -> String {
        let use = SessionEvent(type: .agentToolUse, fields: ["name": "bash", "input": ["command": "pytest"]])
        return try await fixture.makeSession([
            SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": "Run the tests."]]]),
            use,
            SessionEvent(type: .agentToolResult, fields: ["tool_use_id": .string(use.id), "content": [["type": "text", "text": "3 passed"]]]),
            SessionEvent(type: .agentMessage, fields: ["content": [["type": "text", "text": "I ran pytest; all passed."]]]),
            SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": .string(Self.correction)]]]),
            SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]),
        ])
    }

    static let operations: JSONValue = [
        proposal("update", "/prefs/testing.md", content: "Run ./scripts/test.sh; never pytest directly.", events: ["e5"], rationale: "the user corrected this"),
        proposal("add", "/lessons/tests.md", content: "Tests run through ./scripts/test.sh.", events: ["e5"]),
        proposal("update", "/lessons/old.md", content: "Refined.", events: ["e4"]),
    ]

    @Test func userCorrectionAgainstAPinnedMemoryIsWithheldThenAcceptedAndPromoted() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let store = try await fixture.makeStore([("/prefs/testing.md", "Run pytest directly.", true), ("/lessons/old.md", "Old.", false)])
            let session = try await Self.correctedSession(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: [session]).id)
            #expect(dream.status == .completed, "\(String(describing: dream.error))")
            let output = try #require(dream.outputStoreID)
            var report = try await fixture.platform.dreams.dreamReport(id: dream.id)

            // The pinned memory is untouched, and the change the user asked for waits for a person.
            let held = try #require(report.withheld.first)
            #expect(report.withheld.count == 1 && held.id == "wh_1" && held.path == "/prefs/testing.md")
            #expect(held.heldBecause?.contains("pinned") == true)
            #expect(held.evidence.first?.quotes.first?.text.contains(Self.correction) == true, "the user's words are quoted verbatim")
            #expect(try await fixture.contents(output)["/prefs/testing.md"] == "Run pytest directly.")
            #expect(!report.refused.contains { $0.path == "/prefs/testing.md" })

            // Bulk decisions never touch withheld operations.
            let all = try await fixture.server.post("/v1/dreams/\(dream.id)/review", ["decision": "accept"])
            #expect(all.status == 200)
            report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            #expect(report.withheld.first?.review == .pending)
            #expect(report.operations.allSatisfy { $0.review == .accepted })

            // Accepting it writes it to the output store, as the reviewer.
            let accept = try await fixture.server.post("/v1/dreams/\(dream.id)/review", ["decision": "accept", "operation_ids": ["wh_1"]])
            #expect(accept.status == 200, "\(accept.text)")
            #expect(accept.json["withheld"]?[0]?["review"] == "accepted")
            #expect(try await fixture.contents(output)["/prefs/testing.md"] == "Run ./scripts/test.sh; never pytest directly.")

            // Markdown for people: content, rationale and the quoted evidence.
            let markdown = try await fixture.server.get("/v1/dreams/\(dream.id)/report?format=markdown")
            #expect(markdown.status == 200)
            #expect(markdown.headers.first(name: "content-type")?.hasPrefix("text/markdown") == true)
            for text in ["Run ./scripts/test.sh; never pytest directly.", "the user corrected this", Self.correction, "wh_1", "Before:"] {
                #expect(markdown.text.contains(text), "markdown lacks \(text)")
            }
            #expect(try await fixture.server.get("/v1/dreams/\(dream.id)/report?format=pdf").status == 400)

            // Promotion puts it all in the input store, under the same id.
            let beforeVersions = try await fixture.fingerprint(store)
            let promoted = try await fixture.server.post("/v1/dreams/\(dream.id)/promote", [:])
            #expect(promoted.status == 200, "\(promoted.text)")
            #expect(promoted.json["promotion"]?["strategy"] == "apply")
            let input = try await fixture.contents(store)
            #expect(input["/prefs/testing.md"] == "Run ./scripts/test.sh; never pytest directly.")
            #expect(input["/lessons/tests.md"] == "Tests run through ./scripts/test.sh.")
            #expect(input["/lessons/old.md"] == "Refined.")
            #expect(try await fixture.fingerprint(store) != beforeVersions)
            #expect(try await fixture.platform.memory.readMemory(storeID: store, path: "/prefs/testing.md")?.pinned == true, "pins stay")

            // Once promoted, a dream is neither promoted nor reviewed again.
            #expect(try await fixture.server.post("/v1/dreams/\(dream.id)/promote", [:]).status == 409)
            #expect(try await fixture.server.post("/v1/dreams/\(dream.id)/review", ["decision": "reject", "operation_ids": ["op_1"]]).status == 409)
        }
    }

    @Test func applyingIsRefusedWholeWhenTheInputChangedAndReplaceMirrorsTheOutput() async throws {
        try await DreamFixture.with(try dreamerScenario(candidates: [], operations: Self.operations)) { fixture in
            let store = try await fixture.makeStore([("/prefs/testing.md", "Run pytest directly.", true), ("/lessons/old.md", "Old.", false)])
            let session = try await Self.correctedSession(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: [session]).id)
            let output = try #require(dream.outputStoreID)
            let rejected = try await fixture.server.post("/v1/dreams/\(dream.id)/review", ["decision": "reject", "operation_ids": ["wh_1"]])
            #expect(rejected.status == 200)

            // Someone edits the input store where the dream also writes.
            try await fixture.platform.memory.writeMemory(storeID: store, path: "/lessons/old.md", content: "Edited by a person.", actor: .user("ana"))
            let before = try await fixture.fingerprint(store)
            let refused = try await fixture.server.post("/v1/dreams/\(dream.id)/promote", ["strategy": "apply"])
            #expect(refused.status == 409 && refused.text.contains("/lessons/old.md"))
            #expect(try await fixture.fingerprint(store) == before, "a refused promotion changes nothing")
            #expect(try await fixture.server.post("/v1/dreams/\(dream.id)/promote", ["strategy": "sideways"]).status == 400)

            // A reviewer edits the output by hand, then replaces the input with it.
            try await fixture.platform.memory.writeMemory(storeID: output, path: "/lessons/extra.md", content: "Added in review.", actor: .user("ana"))
            let replaced = try await fixture.server.post("/v1/dreams/\(dream.id)/promote", ["strategy": "replace"])
            #expect(replaced.status == 200, "\(replaced.text)")
            #expect(try await fixture.contents(store) == (try await fixture.contents(output)))
            #expect(try await fixture.contents(store)["/prefs/testing.md"] == "Run pytest directly.", "the rejected change stays out")
            let paths = (replaced.json["promotion"]?["changed_paths"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(paths == ["/lessons/extra.md", "/lessons/old.md", "/lessons/tests.md"])
        }
    }
}
