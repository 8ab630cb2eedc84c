import Foundation

/// A Managed Agents `agent`: a named, versioned configuration of model, prompt and tools.
public struct Agent: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var system: String?
    public var model: ModelConfig
    public var tools: [AgentTool]
    public var mcpServers: [MCPServer]
    /// Skills are stored and returned as sent; Reverie does not run them.
    public var skills: [JSONValue]
    public var multiagent: Multiagent?
    public var metadata: [String: String]
    public var executionIdentity: JSONValue
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?

    public static let defaultExecutionIdentity: JSONValue = ["type": "service_account"]

    public init(
        id: String, name: String, description: String? = nil, system: String? = nil, model: ModelConfig,
        tools: [AgentTool] = [], mcpServers: [MCPServer] = [], skills: [JSONValue] = [], multiagent: Multiagent? = nil,
        metadata: [String: String] = [:], executionIdentity: JSONValue = Agent.defaultExecutionIdentity, version: Int = 1,
        createdAt: Date, updatedAt: Date, archivedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.system = system
        self.model = model
        self.tools = tools
        self.mcpServers = mcpServers
        self.skills = skills
        self.multiagent = multiagent
        self.metadata = metadata
        self.executionIdentity = executionIdentity
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, name, description, system, model, tools, skills, multiagent, metadata, version
        case mcpServers = "mcp_servers"
        case executionIdentity = "execution_identity"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        system = try container.decodeIfPresent(String.self, forKey: .system)
        model = try container.decode(ModelConfig.self, forKey: .model)
        tools = try container.decodeIfPresent([AgentTool].self, forKey: .tools) ?? []
        mcpServers = try container.decodeIfPresent([MCPServer].self, forKey: .mcpServers) ?? []
        skills = try container.decodeIfPresent([JSONValue].self, forKey: .skills) ?? []
        multiagent = try container.decodeIfPresent(Multiagent.self, forKey: .multiagent)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        executionIdentity = try container.decodeIfPresent(JSONValue.self, forKey: .executionIdentity) ?? Agent.defaultExecutionIdentity
        version = try container.decode(Int.self, forKey: .version)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("agent", forKey: .type)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(system, forKey: .system)
        try container.encode(model, forKey: .model)
        try container.encode(tools, forKey: .tools)
        try container.encode(mcpServers, forKey: .mcpServers)
        try container.encode(skills, forKey: .skills)
        try container.encode(multiagent, forKey: .multiagent)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(executionIdentity, forKey: .executionIdentity)
        try container.encode(version, forKey: .version)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }

    /// Whether two snapshots configure the same agent (ignoring id, version and timestamps):
    /// an update that changes nothing keeps the version.
    public func hasSameConfiguration(as other: Agent) -> Bool {
        name == other.name && description == other.description && system == other.system && model == other.model
            && tools == other.tools && mcpServers == other.mcpServers && skills == other.skills
            && normalizedMultiagent == other.normalizedMultiagent && metadata == other.metadata && executionIdentity == other.executionIdentity
    }

    /// The roster with references to the agent itself unversioned, so re-sending the same
    /// roster (which names the next version of `self`) is not a change.
    private var normalizedMultiagent: Multiagent? {
        guard case .coordinator(let roster)? = multiagent else { return multiagent }
        return .coordinator(agents: roster.map { $0.id == id ? AgentReference(id: id, version: 0) : $0 })
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

/// `{"type": "url", name, url}`: an MCP server an agent connects to.
public struct MCPServer: Codable, Sendable, Equatable {
    public var name: String
    public var url: String

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }

    enum CodingKeys: String, CodingKey { case name, url, type }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        url = try container.decode(String.self, forKey: .url)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("url", forKey: .type)
        try container.encode(name, forKey: .name)
        try container.encode(url, forKey: .url)
    }
}

/// A reference to one version of an agent: `{"type": "agent", id, version}`.
public struct AgentReference: Codable, Sendable, Equatable, Hashable {
    public var id: String
    public var version: Int

    public init(id: String, version: Int) {
        self.id = id
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case id, version, type }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        version = try container.decode(Int.self, forKey: .version)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("agent", forKey: .type)
        try container.encode(id, forKey: .id)
        try container.encode(version, forKey: .version)
    }
}

/// An agent's `multiagent` setting. Reverie runs the `coordinator` topology; other
/// topologies are stored as sent.
public enum Multiagent: Sendable, Equatable {
    /// A coordinator that may start threads running the listed agents.
    case coordinator(agents: [AgentReference])
    /// Any other topology, kept verbatim.
    case other(JSONValue)
}

extension Multiagent: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        if value["type"] == "coordinator", let entries = value["agents"]?.arrayValue {
            let data = try JSONCoding.data(JSONValue.array(entries))
            self = .coordinator(agents: try JSONCoding.decode([AgentReference].self, from: data))
        } else {
            self = .other(value)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .coordinator(let agents):
            let entries: [JSONValue] = agents.map { ["type": "agent", "id": .string($0.id), "version": .int(Int64($0.version))] }
            try JSONValue.object(["type": "coordinator", "agents": .array(entries)]).encode(to: encoder)
        case .other(let value):
            try value.encode(to: encoder)
        }
    }
}
