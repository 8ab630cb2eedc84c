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
}
