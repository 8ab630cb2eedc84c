import Foundation
import Testing
@testable import ReverieExecution

/// Rubric checks through the execution planes that run them on this machine, and the planes
/// that refuse to.
@Suite(.timeLimit(.minutes(1))) struct CheckCommandTests {
    func localPlane() throws -> (LocalExecutionPlane, URL) {
        let folder = URL(fileURLWithPath: TemporaryDirectory.make())
        let sandbox = try Sandbox(sessionID: "sesn_check", folder: folder)
        return (LocalExecutionPlane(sandbox: sandbox, tools: [:]), folder)
    }

    /// A check that outlives its timeout is stopped with everything it started.
    @Test func aCheckThatRunsTooLongTimesOutWithWhatItStarted() async throws {
        let (plane, folder) = try localPlane()
        defer { try? FileManager.default.removeItem(at: folder) }
        let started = ContinuousClock.now
        let result = await plane.runCheck("sleep 30 & echo working; sleep 30", timeout: .milliseconds(500))
        #expect(result.timedOut)
        #expect(!result.passed)
        #expect(result.output == "working\n")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    /// Without isolation the virtual paths name the session's folders; the check starts in
    /// the workspace, its output interleaved and its status kept.
    @Test func theVirtualPathsNameTheSessionsFolders() async throws {
        let (plane, folder) = try localPlane()
        defer { try? FileManager.default.removeItem(at: folder) }
        let workspace = plane.sandbox.workspace.root.path
        let outputs = plane.sandbox.outputs.root.path
        let result = await plane.runCheck("echo fine >&2; pwd; echo /workspace/x /mnt/session/outputs/y; exit 4", timeout: .seconds(10))
        #expect(result.exitCode == 4)
        #expect(!result.timedOut)
        #expect(result.output == "fine\n\(workspace)\n\(workspace)/x \(outputs)/y\n")
    }

    @Test func planesThatCannotRunChecksSaySoAndFail() async throws {
        let worker = WorkerExecutionPlane(tools: [:]) { _ in }
        let refused = await worker.runCheck("true", timeout: .seconds(5))
        #expect(!refused.passed)
        #expect(refused.output.contains("self_hosted"))
        let refusing = RefusingExecutionPlane(tools: [:], reason: "bubblewrap is not installed")
        let none = await refusing.runCheck("true", timeout: .seconds(5))
        #expect(!none.passed)
        #expect(none.output.contains("bubblewrap is not installed"))
    }

    @Test func checkRequestsCrossTheSandboxWire() throws {
        let request = SandboxWire.Request.check(id: 7, command: "test -f \"a b\"\nexit 1", timeoutSeconds: 120)
        #expect(SandboxWire.decodeRequest(SandboxWire.encode(request).dropLast()[...]) == request)
        #expect(SandboxWire.decodeRequest(#"{"id":8,"check":{"command":"true","timeout_seconds":0}}"#[...]) == nil)
        #expect(SandboxWire.decodeRequest(#"{"id":9,"check":{"timeout_seconds":5}}"#[...]) == nil)
    }
}
