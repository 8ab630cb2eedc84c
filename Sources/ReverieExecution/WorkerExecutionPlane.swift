import ReverieCore
import ReverieModels

/// The plane of a session in a `self_hosted` environment: its built-in tools run on the
/// environment's workers, which take the session from the work queue and answer each call
/// with a `user.tool_result` event. Nothing runs in this process.
public struct WorkerExecutionPlane: ExecutionPlane {
    public let tools: [String: ToolDefinition]
    private let queueSession: @Sendable (String) async throws -> Void

    /// `queueSession` puts the session (by id) in its environment's work queue.
    public init(tools: [String: ToolDefinition], queueSession: @escaping @Sendable (String) async throws -> Void) {
        self.tools = tools
        self.queueSession = queueSession
    }

    public var runsRemotely: Bool { true }

    public func requestWorker(sessionID: String) async throws {
        try await queueSession(sessionID)
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        .error("The tools of this session run on the workers of its self_hosted environment, not on the server.")
    }

    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        .notRun("not run: this session's files are on the workers of its self_hosted environment, and workers do not run checks")
    }
}
