import ReverieCore
import ReverieExecution
import ReverieModels

/// Reports each tool call's latency and outcome to `Telemetry`.
public struct ObservedExecutionPlane: WrappingExecutionPlane {
    public let base: any ExecutionPlane
    let telemetry: any Telemetry

    public init(base: any ExecutionPlane, telemetry: any Telemetry) {
        self.base = base
        self.telemetry = telemetry
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        let start = ContinuousClock.now
        let output = await base.execute(call)
        telemetry.toolCall(name: call.name, seconds: (ContinuousClock.now - start).seconds, failed: output.isError)
        return output
    }
}
