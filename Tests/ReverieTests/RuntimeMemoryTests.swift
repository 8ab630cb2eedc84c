import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

/// Memory stores mounted into running sessions: the agent's ordinary file tools read and
/// write memories, changes are versions by the session, reads are recorded, and read-only
/// mounts refuse writes with an error the model sees.
@Suite(.serialized, .timeLimit(.minutes(3))) struct RuntimeMemoryTests {
    /// Makes a store named "Team Notes" holding `/style.md`, returning its id.
    func makeStore(_ server: TestServer) async throws -> String {
        let store = try await server.post("/v1/memory_stores", ["name": "Team Notes"])
        let id = try #require(store.json["id"]?.stringValue)
        let memory = try await server.post("/v1/memory_stores/\(id)/memories", ["path": "/style.md", "content": "Use short sentences.\n"])
        #expect(memory.status == 200)
        return id
    }

    static let scenario = """
        {"rules": [
          {"name": "read style", "last_user_contains": "remember",
           "reply": [{"type": "tool_use", "name": "read", "input": {"file_path": "/mnt/memory/team-notes/style.md"}}]},
          {"name": "write lesson", "last_user_contains": "Use short sentences",
           "reply": [{"type": "tool_use", "name": "write",
                      "input": {"file_path": "/mnt/memory/team-notes/lessons/x.md", "content": "Check the tests first.\\n"}}]},
          {"name": "done", "last_user_regex": "(Created|read-only)", "reply": "Noted: {{last_user}}"}
        ]}
        """

    @Test func theAgentsWritesBecomeVersionsByTheSessionAndReadsAreRecorded() async throws {
        try await RuntimeHarness.with(try runtimeScenario(Self.scenario)) { harness in
            let server = harness.server
            let store = try await makeStore(server)
            let session = try await server.makeRuntimeSession(resources: [
                ["type": "memory_store", "memory_store_id": .string(store), "access": "read_write", "instructions": "Team conventions."],
            ])
            try await server.say(session, "Please remember this lesson.")
            let events = try await server.waitForIdle(session)
            let results = events.ofType("agent.tool_result")
            #expect(results.count == 2)
            #expect(results.allSatisfy { $0["is_error"] == false })
            #expect(results.first?.contentText.contains("Use short sentences.") == true)
            #expect(results.last?.contentText.contains("Created /mnt/memory/team-notes/lessons/x.md") == true)

            // The write is a memory at /lessons/x.md whose version was made by the session.
            let versions = try await server.get("/v1/memory_stores/\(store)/memory_versions?limit=100").json["data"]?.arrayValue ?? []
            let created = try #require(versions.first { $0["path"] == "/lessons/x.md" })
            #expect(created["operation"] == "created")
            #expect(created["created_by"] == ["type": "session_actor", "session_id": .string(session)])
            let memories = try await server.get("/v1/memory_stores/\(store)/memories?limit=100").json["data"]?.arrayValue ?? []
            let paths = Set(memories.compactMap { $0["path"]?.stringValue })
            #expect(paths.isSuperset(of: ["/style.md", "/lessons/x.md"]))

            // The read of /style.md is recorded against the session.
            let reads = try await server.platform.memory.memoryReads(sessionID: session)
            let style = try #require(memories.first { $0["path"] == "/style.md" }?["id"]?.stringValue)
            #expect(reads.contains { $0.storeID == store && $0.memoryID == style })

            // The model was told about the mount in its system prompt.
            let first = try #require(await harness.agentRequests().first)
            #expect(first.systemText.contains("/mnt/memory/team-notes"))
            #expect(first.systemText.contains("Team conventions."))
            // Nothing was written to the session's workspace instead.
            #expect(!FileManager.default.fileExists(atPath: server.sessionFolder(session).appendingPathComponent("workspace/lessons").path))
        }
    }

    /// Links an agent plants in a mounted store lead the server nowhere: a memory written
    /// "through" a folder link does not land outside the sandbox, a file link is not read into
    /// the store, and the host's files are untouched.
    @Test func linksPlantedInAMountAreNeverFollowedByTheServer() async throws {
        let host = URL(fileURLWithPath: TemporaryDirectory.make())
        defer { try? FileManager.default.removeItem(at: host) }
        try Data("host secret\n".utf8).write(to: host.appendingPathComponent("secret.txt"))
        let plant = "ln -s \(host.path) /mnt/memory/team-notes/sub; ln -s \(host.path)/secret.txt /mnt/memory/team-notes/leak.md; echo links-in-place"
        try await RuntimeHarness.with(try runtimeScenario("""
            {"rules": [
              {"name": "done", "last_user_regex": "(links-in-place|listing-done)", "reply": "Done."},
              {"name": "plant", "last_user_contains": "plant the links", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": \(try JSONCoding.string(JSONValue.string(plant)))}}]},
              {"name": "look", "last_user_contains": "look around", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "ls -la /mnt/memory/team-notes; echo listing-done"}}]}
            ]}
            """)) { harness in
            let server = harness.server
            let store = try await makeStore(server)
            let session = try await server.makeRuntimeSession(resources: [["type": "memory_store", "memory_store_id": .string(store), "access": "read_write"]])
            try await server.say(session, "plant the links")
            _ = try await server.waitForIdle(session)
            // Someone writes a memory under the planted folder link; the next call pulls it.
            #expect(try await server.post("/v1/memory_stores/\(store)/memories", ["path": "/sub/cron.md", "content": "* * * * * root evil\n"]).status == 200)
            try await server.say(session, "look around")
            _ = try await server.waitForIdle(session, count: 2)
            #expect(try FileManager.default.contentsOfDirectory(atPath: host.path) == ["secret.txt"], "nothing was written outside")
            #expect(try String(contentsOf: host.appendingPathComponent("secret.txt"), encoding: .utf8) == "host secret\n")
            let memories = try await server.get("/v1/memory_stores/\(store)/memories?view=full&limit=100").json["data"]?.arrayValue ?? []
            #expect(!memories.contains { ($0["content"]?.stringValue ?? "").contains("host secret") }, "the linked file was not read into the store")
        }
    }

    @Test func aReadOnlyMountRefusesWritesWithAToolError() async throws {
        try await RuntimeHarness.with(try runtimeScenario(Self.scenario)) { harness in
            let server = harness.server
            let store = try await makeStore(server)
            let session = try await server.makeRuntimeSession(resources: [
                ["type": "memory_store", "memory_store_id": .string(store), "access": "read_only"],
            ])
            try await server.say(session, "Please remember this lesson.")
            let events = try await server.waitForIdle(session)
            let results = events.ofType("agent.tool_result")
            #expect(results.count == 2)
            #expect(results.first?["is_error"] == false, "reading is allowed")
            let refused = try #require(results.last)
            #expect(refused["is_error"] == true)
            #expect(refused.contentText.contains("read-only"))
            // The agent went on and finished its turn.
            #expect(events.ofType("agent.message").last?.contentText.contains("read-only") == true)
            #expect(events.last?["stop_reason"] == ["type": "end_turn"])

            let versions = try await server.get("/v1/memory_stores/\(store)/memory_versions?limit=100").json["data"]?.arrayValue ?? []
            #expect(versions.count == 1, "only the version the API created")
            #expect(!versions.contains { $0["created_by"]?["type"] == "session_actor" })
            #expect(try await server.platform.memory.memoryReads(sessionID: session).count == 1)
        }
    }

    /// Detaching a store (`DELETE /v1/sessions/{id}/resources/{store}`) from an idle session:
    /// the next turn neither mounts it nor names it, and the store keeps its memories.
    @Test func aDetachedStoreIsGoneFromTheNextTurn() async throws {
        try await RuntimeHarness.with(try runtimeScenario(Self.scenario)) { harness in
            let server = harness.server
            let store = try await makeStore(server)
            let session = try await server.makeRuntimeSession(resources: [
                ["type": "memory_store", "memory_store_id": .string(store), "access": "read_write"],
            ])
            try await server.say(session, "Please remember this lesson.")
            _ = try await server.waitForIdle(session)

            let detached = try await server.delete("/v1/sessions/\(session)/resources/\(store)")
            #expect(detached.status == 200)
            #expect(detached.json["type"] == "session_resource_deleted")

            try await server.say(session, "Please remember this lesson.")
            let events = try await server.waitForIdle(session, count: 2)
            let read = try #require(events.ofType("agent.tool_result").last { $0.contentText.contains("style.md") || $0["is_error"] == true })
            #expect(read["is_error"] == true, "the mount is gone: \(read.contentText)")
            let last = try #require(await harness.agentRequests().last)
            #expect(!last.systemText.contains("/mnt/memory/team-notes"))
            let memories = try await server.get("/v1/memory_stores/\(store)/memories?limit=100").json["data"]?.arrayValue ?? []
            #expect(memories.contains { $0["path"] == "/style.md" })
        }
    }
}
