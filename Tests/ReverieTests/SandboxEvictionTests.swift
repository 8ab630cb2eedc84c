import Foundation
import Testing

@testable import ReverieRuntime
@testable import ReverieServer

/// A session that stops working has its sandbox closed after the idle timeout: its bash shell
/// is gone, its files stay, and the next turn works in a fresh shell.
@Suite(.timeLimit(.minutes(3))) struct SandboxEvictionTests {
    @Test func anIdleSessionsShellIsStoppedAndTheNextTurnGetsAFreshOne() async throws {
        let scenario = try runtimeScenario("""
            {"rules": [
              {"name": "first", "last_user_contains": "start the shell",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo $$ > shell.pid; export MARK=kept; echo started"}}]},
              {"name": "after first", "last_user_contains": "started", "reply": "Shell started."},
              {"name": "second", "last_user_contains": "once more",
               "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo $$ > shell2.pid; echo mark=${MARK:-unset}"}}]},
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
            let text = try String(contentsOf: workspace.appendingPathComponent("shell.pid"), encoding: .utf8)
            let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(kill(pid, 0) == 0, "the shell runs while the session is fresh")

            let deadline = ContinuousClock.now + .seconds(10)
            while await runner.openSandboxCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(await runner.openSandboxCount == 0)
            // The sandbox leaves the table before its shell is stopped and reaped.
            while kill(pid, 0) == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(kill(pid, 0) != 0, "the idle session's shell was stopped")
            #expect(FileManager.default.fileExists(atPath: workspace.appendingPathComponent("shell.pid").path), "files stay")

            try await server.say(session, "once more")
            let events = try await server.waitForIdle(session, count: 2)
            let result = try #require(events.ofType("agent.tool_result").last)
            #expect(result.contentText.contains("mark=unset"), "a fresh shell: \(result.contentText)")
            let second = try String(contentsOf: workspace.appendingPathComponent("shell2.pid"), encoding: .utf8)
            #expect(Int32(second.trimmingCharacters(in: .whitespacesAndNewlines)) != pid)
            #expect(events.ofType("agent.message").last?.contentText == "Checked.")
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }
}
