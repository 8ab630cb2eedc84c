import ReverieCore
import ReverieModels

/// Runs tools in this process, in the session's `Sandbox` (its workspace folders and bash
/// shell): the execution plane of a server that runs its agents' tools itself.
public struct LocalExecutionPlane: ExecutionPlane {
    public let sandbox: Sandbox
    private let implementations: [String: any SandboxTool]
    public let tools: [String: ToolDefinition]

    public init(sandbox: Sandbox, tools: [String: any SandboxTool]) {
        self.sandbox = sandbox
        self.implementations = tools
        self.tools = tools.mapValues(\.definition)
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        guard let tool = implementations[call.name] else { return .error("unknown tool '\(call.name)'") }
        return await tool.run(call.input, in: sandbox)
    }

    /// Runs the check in this process's environment (tools are not isolated here either),
    /// in the workspace; the virtual paths in the command name the session's folders.
    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        let translated = command
            .replacingOccurrences(of: Sandbox.outputsMount, with: sandbox.outputs.root.path)
            .replacingOccurrences(of: Sandbox.workspaceMount, with: sandbox.workspace.root.path)
        return await CheckCommand.run(translated, in: sandbox.workspace.root.path, environment: nil, timeout: timeout)
    }
}
