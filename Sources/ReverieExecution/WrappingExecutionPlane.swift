import ReverieModels

/// A plane that wraps another and changes only how its calls run (`execute`): the tools, where
/// they run, workers and checks are the base's.
public protocol WrappingExecutionPlane: ExecutionPlane {
    var base: any ExecutionPlane { get }
}

extension WrappingExecutionPlane {
    public var tools: [String: ToolDefinition] { base.tools }
    public var runsRemotely: Bool { base.runsRemotely }

    public func requestWorker(sessionID: String) async throws {
        try await base.requestWorker(sessionID: sessionID)
    }

    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        await base.runCheck(command, timeout: timeout)
    }
}
