import ReverieCore
import ReverieExecution
import ReverieModels

/// Reports each tool call's latency and outcome to `Telemetry`.
public struct ObservedExecutionPlane: ExecutionPlane {
    let base: any ExecutionPlane
    let telemetry: any Telemetry

    public init(base: any ExecutionPlane, telemetry: any Telemetry) {
        self.base = base
        self.telemetry = telemetry
    }

    public var tools: [String: ToolDefinition] { base.tools }
    public var runsRemotely: Bool { base.runsRemotely }

    public func requestWorker(sessionID: String) async throws {
        try await base.requestWorker(sessionID: sessionID)
    }

    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        await base.runCheck(command, timeout: timeout)
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        let start = ContinuousClock.now
        let output = await base.execute(call)
        telemetry.toolCall(name: call.name, seconds: (ContinuousClock.now - start).seconds, failed: output.isError)
        return output
    }
}
