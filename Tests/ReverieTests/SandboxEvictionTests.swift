import Foundation
import Testing

@testable import ReverieRuntime
@testable import ReverieServer

/// A session that stops working has its sandbox closed after the idle timeout: its bash shell
/// and everything it started are gone (seen from the host), its files stay, and the next turn
/// works in a fresh shell.
@Suite(.timeLimit(.minutes(3))) struct SandboxEvictionTests {
    @Test func anIdleSessionsShellIsStoppedAndTheNextTurnGetsAFreshOne() async throws {
        let marker = "evict-\(UUID().uuidString)"
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "first", "last_user_contains": "start the shell",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "(exec -a \(marker) sleep 1000) > /dev/null 2>&1 & echo $$ > shell.pid; export MARK=kept; echo started"}}]},
              {"name": "after first", "last_user_contains": "started", "reply": "Shell started."},
              {"name": "second", "last_user_contains": "once more",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo mark=${MARK:-unset}"}}]},
              {"name": "after second", "last_user_contains": "mark=", "reply": "Checked."}
            ]}
            """)
        let harness = try await RuntimeHarness.start(scenario) { configuration in
            configuration.runtime.sandboxIdleTimeout = .seconds(1)
        }
        do {
            let server = harness.server
            let runner = try #require(server.host.runner)
            let session = try await server.makeRuntimeSession()
            try await server.say(session, "start the shell")
            _ = try await server.waitForIdle(session)
            let workspace = server.sessionFolder(session).appendingPathComponent("workspace")
            #expect(!HostProcesses.matching(marker).isEmpty, "what the shell started runs while the session is fresh")

            let deadline = ContinuousClock.now + .seconds(10)
            while await runner.openSandboxCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await runner.openSandboxCount == 0)
            // The sandbox leaves the table before its processes are stopped and reaped.
            while !HostProcesses.matching(marker).isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(HostProcesses.matching(marker).isEmpty, "the idle session's processes were stopped, background ones too")
            #expect(FileManager.default.fileExists(atPath: workspace.appendingPathComponent("shell.pid").path), "files stay")

            try await server.say(session, "once more")
            let events = try await server.waitForIdle(session, count: 2)
            let result = try #require(events.ofType("agent.tool_result").last)
            #expect(result.contentText.contains("mark=unset"), "a fresh shell: \(result.contentText)")
            #expect(events.ofType("agent.message").last?.contentText == "Checked.")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}

/// Processes on this machine, seen from the host (outside every sandbox).
enum HostProcesses {
    /// The pids of processes whose command line contains `text`.
    static func matching(_ text: String) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return commandLine.contains(text) ? pid : nil
        }
    }
}
