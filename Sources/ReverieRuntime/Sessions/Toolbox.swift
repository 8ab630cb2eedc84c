import ReverieCore
import ReverieModels

/// The tools one agent may call in one sandbox: the enabled built-in tools (run by Reverie)
/// and the custom tools (run by the client), with each tool's permission policy.
public struct Toolbox: Sendable {
    public let sandbox: Sandbox
    private let builtins: [String: any SandboxTool]
    private let policies: [String: PermissionPolicy]
    private let custom: [String: CustomTool]
    /// Tools the runtime adds (e.g. a coordinator's delegation tools), run in-process.
    private let runtimeTools: [String: any SandboxTool]

    public init(agent: SessionAgent, sandbox: Sandbox, builtins: [String: any SandboxTool], runtimeTools: [String: any SandboxTool] = [:]) {
        self.sandbox = sandbox
        var policies: [String: PermissionPolicy] = [:]
        var enabled: [String: any SandboxTool] = [:]
        if let toolset = agent.builtinToolset {
            for name in BuiltinToolName.allCases {
                let setting = toolset.setting(for: name)
                guard setting.enabled, let tool = builtins[name.rawValue] else { continue }
                enabled[name.rawValue] = tool
                policies[name.rawValue] = setting.policy
            }
        }
        self.builtins = enabled
        self.policies = policies
        self.custom = Dictionary(agent.customTools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.runtimeTools = runtimeTools
        let builtinDefinitions = enabled.values.map(\.definition).sorted { $0.name < $1.name }
        let runtimeDefinitions = runtimeTools.values.map(\.definition).sorted { $0.name < $1.name }
        let customDefinitions = custom.values.sorted { $0.name < $1.name }.map {
            ToolDefinition(name: $0.name, description: $0.description, inputSchema: .object($0.inputSchema))
        }
        self.definitions = builtinDefinitions + runtimeDefinitions + customDefinitions
    }

    /// What the model is told it may call (made once; every model call sends it).
    public let definitions: [ToolDefinition]

    /// Whether the client runs this tool.
    public func isCustom(_ name: String) -> Bool { custom[name] != nil && builtins[name] == nil && runtimeTools[name] == nil }

    /// The permission policy of a Reverie-run tool (runtime tools are always allowed).
    public func policy(for name: String) -> PermissionPolicy {
        policies[name] ?? .alwaysAllow
    }

    /// Runs a Reverie-run tool; an unknown name is an error the model sees.
    public func run(_ name: String, input: JSONValue) async -> ToolOutput {
        if let tool = builtins[name] ?? runtimeTools[name] {
            return await tool.run(input, in: sandbox)
        }
        return .error("unknown tool '\(name)'; available tools: \(definitions.map(\.name).joined(separator: ", "))")
    }
}
