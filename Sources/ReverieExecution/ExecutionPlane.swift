import ReverieCore
import ReverieModels

/// One call of a Reverie-run tool, as the agent loop hands it over.
public struct ToolCall: Sendable, Equatable {
    public var sessionID: String
    /// The `agent.tool_use` event the result answers.
    public var toolUseID: String
    public var name: String
    /// The JSON object the model sent.
    public var input: JSONValue

    public init(sessionID: String, toolUseID: String, name: String, input: JSONValue) {
        self.sessionID = sessionID
        self.toolUseID = toolUseID
        self.name = name
        self.input = input
    }
}

/// Where an agent's tools run: the one seam between the agent loop and execution. The loop
/// hands each call of a built-in tool to its plane and records what comes back; it does not
/// know whether the tool ran in this process, in an isolated sandbox or on a remote worker.
///
/// A plane never throws: a tool that fails, or can't be reached, is an error output the model
/// sees. Cancelling the calling task (an interrupt) should stop the call.
public protocol ExecutionPlane: Sendable {
    /// The tools this plane can run, by name, with the definitions the model is shown.
    var tools: [String: ToolDefinition] { get }
    /// Runs one call.
    func execute(_ call: ToolCall) async -> ToolOutput
    /// Runs a rubric's check command (`CheckCommand`) where the session's tools run, so that
    /// the boundary around what the agent wrote holds for checks too; a plane that cannot
    /// run it says why in a result that fails. Cancelling the calling task stops it.
    func runCheck(_ command: String, timeout: Duration) async -> CheckResult
    /// True when workers elsewhere run the calls and answer each with a `user.tool_result`
    /// event (a `self_hosted` environment): the loop waits for those events and never calls
    /// `execute`.
    var runsRemotely: Bool { get }
    /// For a plane that `runsRemotely`: makes sure a worker will take up the session's waiting
    /// calls (queues the session's work item). Other planes do nothing.
    func requestWorker(sessionID: String) async throws
}

extension ExecutionPlane {
    public var runsRemotely: Bool { false }
    public func requestWorker(sessionID: String) async throws {}
}
