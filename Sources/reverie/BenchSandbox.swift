import ArgumentParser
import Foundation
import Logging
import ReverieExecution

/// `reverie bench sandbox`: what isolation costs — the time to start a session's sandbox (up to
/// its first command's result) and each bash command's round trip inside a sandbox versus in
/// the server's own shell.
struct BenchSandbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox", abstract: "Sandbox start time per session, and bash round-trip overhead inside vs outside the sandbox.")

    @Option(help: "Sandboxes started (each its own session folder).")
    var starts = 20

    @Option(help: "bash commands timed in each of the two shells.")
    var commands = 200

    func run() async throws {
        guard starts >= 1, commands >= 10 else { throw ValidationError("--starts must be at least 1 and --commands at least 10") }
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reverie-bench-sandbox-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let settings = IsolationSettings()
        if let problem = await SandboxProbe.check(settings, logger: logger) { throw ValidationError("no sandbox can be made here: \(problem)") }
        let tools: [String: any SandboxTool] = ["bash": BashTool()]
        func call(_ command: String) -> ToolCall { ToolCall(sessionID: "bench", toolUseID: "bench", name: "bash", input: ["command": .string(command)]) }
        print("reverie bench sandbox: \(starts) sandbox starts, \(commands) `true` commands per shell")

        // Start: a fresh sandbox per session, timed until its first command has answered.
        var startTimes: [Double] = []
        for index in 0..<starts {
            let sandbox = try Sandbox(sessionID: "bench-\(index)", folder: root.appendingPathComponent("s\(index)"))
            let plane = IsolatedExecutionPlane(sandbox: sandbox, tools: tools, configuration: BuiltinTools.Configuration(), settings: settings, logger: logger)
            let started = ContinuousClock.now
            let output = await plane.execute(call("true"))
            startTimes.append((ContinuousClock.now - started).milliseconds)
            guard !output.isError else { throw ValidationError("the sandbox failed: \(output.text)") }
            await sandbox.close()
        }

        // Round trips, in a kept-alive shell inside a sandbox and in the server's own shell.
        let inside = try Sandbox(sessionID: "bench-inside", folder: root.appendingPathComponent("inside"))
        let isolated = IsolatedExecutionPlane(sandbox: inside, tools: tools, configuration: BuiltinTools.Configuration(), settings: settings, logger: logger)
        let outside = try Sandbox(sessionID: "bench-outside", folder: root.appendingPathComponent("outside"))
        let local = LocalExecutionPlane(sandbox: outside, tools: tools)
        var insideTimes: [Double] = []
        var outsideTimes: [Double] = []
        for plane in [isolated, local] as [any ExecutionPlane] { _ = await plane.execute(call("true")) }
        for _ in 0..<commands {
            for (plane, isInside) in [(isolated as any ExecutionPlane, true), (local as any ExecutionPlane, false)] {
                let started = ContinuousClock.now
                let output = await plane.execute(call("true"))
                let elapsed = (ContinuousClock.now - started).milliseconds
                guard !output.isError else { throw ValidationError("a command failed: \(output.text)") }
                if isInside { insideTimes.append(elapsed) } else { outsideTimes.append(elapsed) }
            }
        }
        await inside.close()
        await outside.close()

        let (starts, insides, outsides) = (startTimes.sorted(), insideTimes.sorted(), outsideTimes.sorted())
        print("sandbox start (to the first result): p50 \(formatted(percentile(starts, 50))) ms, p99 \(formatted(percentile(starts, 99))) ms, max \(formatted(starts.last ?? 0)) ms; target ≤ 100 ms")
        print("bash round trip inside:  p50 \(formatted(percentile(insides, 50), 2)) ms, p99 \(formatted(percentile(insides, 99), 2)) ms")
        print("bash round trip outside: p50 \(formatted(percentile(outsides, 50), 2)) ms, p99 \(formatted(percentile(outsides, 99), 2)) ms")
        print("added per command: p50 \(formatted(percentile(insides, 50) - percentile(outsides, 50), 2)) ms; target ≤ 5 ms")
    }
}
