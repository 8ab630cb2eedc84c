/// The agent configuration a session runs: a snapshot of one agent version, with any
/// `agent_with_overrides` applied, and for a coordinator the snapshots of its roster.
public struct SessionAgent: Codable, Sendable, Equatable {
    public var id: String
    public var version: Int
    public var name: String
    public var description: String?
    public var system: String?
    public var model: ModelConfig
    public var tools: [AgentTool]
    public var mcpServers: [MCPServer]
    public var skills: [JSONValue]
    public var executionIdentity: JSONValue
    /// The coordinator's roster, resolved to snapshots; nil when the agent is single-threaded.
    public var roster: [SessionAgent]?
    /// A topology Reverie keeps but does not run.
    public var otherMultiagent: JSONValue?

    /// The snapshot of `agent` (its roster is filled in separately).
    public init(_ agent: Agent) {
        id = agent.id
        version = agent.version
        name = agent.name
        description = agent.description
        system = agent.system
        model = agent.model
        tools = agent.tools
        mcpServers = agent.mcpServers
        skills = agent.skills
        executionIdentity = agent.executionIdentity
        roster = nil
        if case .other(let value)? = agent.multiagent { otherMultiagent = value }
    }

    enum CodingKeys: String, CodingKey {
        case id, type, version, name, description, system, model, tools, skills, multiagent
        case mcpServers = "mcp_servers"
        case executionIdentity = "execution_identity"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        version = try container.decode(Int.self, forKey: .version)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        system = try container.decodeIfPresent(String.self, forKey: .system)
        model = try container.decode(ModelConfig.self, forKey: .model)
        tools = try container.decodeIfPresent([AgentTool].self, forKey: .tools) ?? []
        mcpServers = try container.decodeIfPresent([MCPServer].self, forKey: .mcpServers) ?? []
        skills = try container.decodeIfPresent([JSONValue].self, forKey: .skills) ?? []
        executionIdentity = try container.decodeIfPresent(JSONValue.self, forKey: .executionIdentity) ?? Agent.defaultExecutionIdentity
        roster = nil
        otherMultiagent = nil
        if let multiagent = try container.decodeIfPresent(JSONValue.self, forKey: .multiagent) {
            if multiagent["type"] == "coordinator", let agents = multiagent["agents"] {
                roster = try JSONCoding.decode([SessionAgent].self, from: JSONCoding.data(agents))
            } else if !multiagent.isNull {
                otherMultiagent = multiagent
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("agent", forKey: .type)
        try container.encode(version, forKey: .version)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(system, forKey: .system)
        try container.encode(model, forKey: .model)
        try container.encode(tools, forKey: .tools)
        try container.encode(mcpServers, forKey: .mcpServers)
        try container.encode(skills, forKey: .skills)
        try container.encode(executionIdentity, forKey: .executionIdentity)
        if let roster {
            try container.encode(JSONValue.object(["type": "coordinator", "agents": try JSONCoding.value(roster)]), forKey: .multiagent)
        } else if let otherMultiagent {
            try container.encode(otherMultiagent, forKey: .multiagent)
        } else {
            try container.encodeNil(forKey: .multiagent)
        }
    }

    /// The custom tools this agent declares.
    public var customTools: [CustomTool] {
        tools.compactMap { if case .custom(let tool) = $0 { tool } else { nil } }
    }

    /// The built-in toolset, when the agent has one.
    public var builtinToolset: AgentToolset? {
        for tool in tools { if case .agentToolset(let toolset) = tool { return toolset } }
        return nil
    }
}
