/// One entry of an agent's `tools`: the built-in toolset, an MCP server's toolset, or a custom tool.
public enum AgentTool: Sendable, Equatable {
    case agentToolset(AgentToolset)
    case mcpToolset(MCPToolset)
    case custom(CustomTool)
}

/// Whether a tool call runs straight away or waits for a `user.tool_confirmation`.
public enum PermissionPolicy: String, Codable, Sendable, Equatable {
    case alwaysAllow = "always_allow"
    case alwaysAsk = "always_ask"
    case auto

    /// The wire form `{"type": "always_allow"}`.
    public var json: JSONValue { ["type": .string(rawValue)] }

    static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> PermissionPolicy {
        let reader = try ObjectReader(value, at: field)
        let type = try reader.discriminator()
        guard let policy = PermissionPolicy(rawValue: type) else {
            throw APIError.invalidRequest("\(reader.field("type")): must be one of always_allow, always_ask, auto")
        }
        return policy
    }
}

/// The resolved `default_config` of a toolset.
public struct ToolDefaults: Sendable, Equatable {
    public var enabled: Bool
    public var permissionPolicy: PermissionPolicy

    public init(enabled: Bool = true, permissionPolicy: PermissionPolicy) {
        self.enabled = enabled
        self.permissionPolicy = permissionPolicy
    }
}

/// The names of the tools in `agent_toolset_20260401`.
public enum BuiltinToolName: String, Sendable, CaseIterable, Codable {
    case bash, edit, read, write, glob, grep
    case webFetch = "web_fetch"
    case webSearch = "web_search"
}

/// One per-tool override inside the built-in toolset.
public struct BuiltinToolConfig: Sendable, Equatable {
    public var name: BuiltinToolName
    public var enabled: Bool
    public var permissionPolicy: PermissionPolicy
    /// Tool-specific settings (`allowed_domains`, `max_content_tokens`, …), kept as sent.
    public var options: [String: JSONValue]

    public init(name: BuiltinToolName, enabled: Bool, permissionPolicy: PermissionPolicy, options: [String: JSONValue] = [:]) {
        self.name = name
        self.enabled = enabled
        self.permissionPolicy = permissionPolicy
        self.options = options
    }
}

/// `{"type": "agent_toolset_20260401", configs, default_config}`.
public struct AgentToolset: Sendable, Equatable {
    public static let type = "agent_toolset_20260401"
    public var configs: [BuiltinToolConfig]
    public var defaults: ToolDefaults

    public init(configs: [BuiltinToolConfig] = [], defaults: ToolDefaults = ToolDefaults(permissionPolicy: .alwaysAllow)) {
        self.configs = configs
        self.defaults = defaults
    }

    /// The effective setting for one tool: its override, else the toolset default.
    public func setting(for name: BuiltinToolName) -> (enabled: Bool, policy: PermissionPolicy) {
        if let config = configs.first(where: { $0.name == name }) {
            return (config.enabled, config.permissionPolicy)
        }
        return (defaults.enabled, defaults.permissionPolicy)
    }
}

/// One per-tool override inside an MCP toolset.
public struct MCPToolConfig: Sendable, Equatable {
    public var name: String
    public var enabled: Bool
    public var permissionPolicy: PermissionPolicy
}

/// `{"type": "mcp_toolset", mcp_server_name, configs, default_config}`.
public struct MCPToolset: Sendable, Equatable {
    public var serverName: String
    public var configs: [MCPToolConfig]
    public var defaults: ToolDefaults
}

/// A tool the API client executes: `{"type": "custom", name, description, input_schema}`.
public struct CustomTool: Sendable, Equatable {
    public var name: String
    public var description: String
    public var inputSchema: [String: JSONValue]

    public init(name: String, description: String, inputSchema: [String: JSONValue]) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
    }
}
