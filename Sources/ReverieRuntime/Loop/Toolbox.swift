import ReverieCore
import ReverieExecution
import ReverieModels

/// The tools one agent may call: the enabled built-in tools (run by the execution plane),
/// the tools the runtime adds (run in-process), the tools of its MCP servers (run by them)
/// and the custom tools (run by the client), with each tool's permission policy.
public struct Toolbox: Sendable {
    /// The session's files as this server sees them (the grader collects deliverables here).
    public let sandbox: Sandbox
    /// Where the built-in tools run.
    let plane: any ExecutionPlane
    private let builtins: Set<String>
    private let policies: [String: PermissionPolicy]
    private let custom: [String: CustomTool]
    /// Tools the runtime adds (e.g. a coordinator's delegation tools), run in-process.
    private let runtimeTools: [String: any SandboxTool]
    /// The MCP servers' tools, by model-facing name, and what failed while connecting.
    public let mcp: MCPToolsets

    public init(
        agent: SessionAgent, sandbox: Sandbox, plane: any ExecutionPlane, runtimeTools: [String: any SandboxTool] = [:], mcp: MCPToolsets = .none
    ) {
        self.sandbox = sandbox
        self.plane = plane
        var policies: [String: PermissionPolicy] = [:]
        var enabled: [ToolDefinition] = []
        if let toolset = agent.builtinToolset {
            for name in BuiltinToolName.allCases {
                let setting = toolset.setting(for: name)
                guard setting.enabled, let definition = plane.tools[name.rawValue] else { continue }
                enabled.append(definition)
                policies[name.rawValue] = setting.policy
            }
        }
        self.builtins = Set(enabled.map(\.name))
        self.policies = policies
        self.custom = Dictionary(agent.customTools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.runtimeTools = runtimeTools
        self.mcp = mcp
        let builtinDefinitions = enabled.sorted { $0.name < $1.name }
        let runtimeDefinitions = runtimeTools.values.map(\.definition).sorted { $0.name < $1.name }
        let customDefinitions = custom.values.sorted { $0.name < $1.name }.map {
            ToolDefinition(name: $0.name, description: $0.description, inputSchema: .object($0.inputSchema))
        }
        let mcpDefinitions = mcp.tools.values.map(\.definition).sorted { $0.name < $1.name }
        self.definitions = builtinDefinitions + runtimeDefinitions + mcpDefinitions + customDefinitions
    }

    /// What the model is told it may call (made once; every model call sends it).
    public let definitions: [ToolDefinition]

    /// Whether the client runs this tool.
    public func isCustom(_ name: String) -> Bool {
        custom[name] != nil && !builtins.contains(name) && runtimeTools[name] == nil && mcp.tools[name] == nil
    }

    /// The MCP tool the model calls by `name`.
    public func mcpTool(named name: String) -> MCPToolsets.Tool? { mcp.tools[name] }

    /// The permission policy of a Reverie-run tool (runtime tools are always allowed).
    public func policy(for name: String) -> PermissionPolicy {
        if let tool = mcp.tools[name] { return tool.policy }
        return policies[name] ?? .alwaysAllow
    }

    /// Whether a worker of the session's `self_hosted` environment runs this tool and answers
    /// with `user.tool_result`.
    public func runsOnWorker(_ name: String) -> Bool { builtins.contains(name) && plane.runsRemotely }

    /// Queues the session for a worker of its `self_hosted` environment.
    public func requestWorker(sessionID: String) async throws { try await plane.requestWorker(sessionID: sessionID) }

    /// Runs a Reverie-run tool: a runtime tool in-process, a built-in one on the execution
    /// plane; an unknown name is an error the model sees.
    public func run(_ call: ToolCall) async -> ToolOutput {
        if let tool = runtimeTools[call.name] { return await tool.run(call.input, in: sandbox) }
        if let tool = mcp.tools[call.name] {
            do {
                return try await tool.client.callTool(tool.name, arguments: call.input)
            } catch {
                return .error(error.message)
            }
        }
        if builtins.contains(call.name) { return await plane.execute(call) }
        return .error("unknown tool '\(call.name)'; available tools: \(definitions.map(\.name).joined(separator: ", "))")
    }
}
