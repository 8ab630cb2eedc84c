/// One entry of a coordinator's roster as requested, before ids are resolved to versions.
public enum RosterEntry: Sendable, Equatable {
    case agent(id: String, version: Int?)
    case this

    public static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> RosterEntry {
        if case .string(let id) = value { return .agent(id: id, version: nil) }
        let reader = try ObjectReader(value, at: field)
        switch try reader.discriminator() {
        case "agent":
            try reader.rejectUnknown(["type", "id", "version"])
            let version = try reader.int("version")
            if let version, version < 1 { throw APIError.invalidRequest("\(reader.field("version")): must be at least 1") }
            return .agent(id: try reader.requiredString("id"), version: version)
        case "self":
            try reader.rejectUnknown(["type"])
            return .this
        case "advisor":
            throw APIError.invalidRequest("\(reader.field("type")): advisor roster entries are not supported by Reverie")
        case let other:
            throw APIError.invalidRequest("\(reader.field("type")): unknown roster entry type '\(other)'")
        }
    }
}

/// The requested `multiagent` setting, before the roster is resolved.
public enum MultiagentRequest: Sendable, Equatable {
    case coordinator([RosterEntry])

    public static let maxRoster = 20

    public static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> MultiagentRequest {
        let reader = try ObjectReader(value, at: field)
        switch try reader.discriminator() {
        case "coordinator":
            try reader.rejectUnknown(["type", "agents"])
            guard let entries = try reader.array("agents") else {
                throw APIError.invalidRequest("\(reader.field("agents")): required")
            }
            try Rules.count(entries, reader.field("agents"), min: 1, max: maxRoster)
            var roster: [RosterEntry] = []
            for (index, entry) in entries.enumerated() {
                roster.append(try RosterEntry.parse(entry, at: reader.field("agents").index(index)))
            }
            if roster.filter({ $0 == .this }).count > 1 {
                throw APIError.invalidRequest("\(reader.field("agents")): at most one {\"type\":\"self\"} entry")
            }
            return .coordinator(roster)
        case let other:
            throw APIError.invalidRequest("\(reader.field("type")): unsupported multiagent type '\(other)'; Reverie runs 'coordinator'")
        }
    }
}

/// The agent fields every create and update may carry, parsed and checked.
public enum AgentFields {
    public static let maxTools = 256
    public static let maxMCPServers = 20
    public static let maxSystemLength = 100_000
    public static let maxNameLength = 256
    public static let maxDescriptionLength = 2048

    public static func name(_ reader: ObjectReader) throws(APIError) -> String? {
        guard let name = try reader.string("name") else { return nil }
        try Rules.length(name, reader.field("name"), min: 1, max: maxNameLength)
        return name
    }

    public static func description(_ reader: ObjectReader) throws(APIError) -> Patch<String> {
        let patch = try reader.stringPatch("description")
        if let value = patch.value { try Rules.length(value, reader.field("description"), max: maxDescriptionLength) }
        return patch
    }

    public static func system(_ reader: ObjectReader) throws(APIError) -> Patch<String> {
        let patch = try reader.stringPatch("system")
        if let value = patch.value { try Rules.length(value, reader.field("system"), max: maxSystemLength) }
        return patch
    }

    public static func tools(_ reader: ObjectReader) throws(APIError) -> Patch<[AgentTool]> {
        switch try reader.arrayPatch("tools") {
        case .absent: return .absent
        case .null: return .null
        case .value(let entries):
            var tools: [AgentTool] = []
            var customNames: Set<String> = []
            var hasToolset = false
            var mcpNames: Set<String> = []
            for (index, entry) in entries.enumerated() {
                let path = reader.field("tools").index(index)
                let tool = try AgentTool.parse(entry, at: path)
                switch tool {
                case .custom(let custom):
                    if !customNames.insert(custom.name).inserted {
                        throw APIError.invalidRequest("\(path).name: duplicate custom tool name '\(custom.name)'")
                    }
                    if BuiltinToolName(rawValue: custom.name) != nil, entries.contains(where: { $0["type"] == .string(AgentToolset.type) }) {
                        throw APIError.invalidRequest("\(path).name: '\(custom.name)' clashes with a built-in tool")
                    }
                case .agentToolset:
                    if hasToolset { throw APIError.invalidRequest("\(path): agent_toolset_20260401 listed twice") }
                    hasToolset = true
                case .mcpToolset(let toolset):
                    if !mcpNames.insert(toolset.serverName).inserted {
                        throw APIError.invalidRequest("\(path).mcp_server_name: toolset for '\(toolset.serverName)' listed twice")
                    }
                }
                tools.append(tool)
            }
            let total = tools.reduce(0) { $0 + $1.toolCount }
            if total > maxTools {
                throw APIError.invalidRequest("\(reader.field("tools")): at most \(maxTools) tools across all toolsets (got \(total))")
            }
            return .value(tools)
        }
    }

    public static func mcpServers(_ reader: ObjectReader) throws(APIError) -> Patch<[MCPServer]> {
        switch try reader.arrayPatch("mcp_servers") {
        case .absent: return .absent
        case .null: return .null
        case .value(let entries):
            try Rules.count(entries, reader.field("mcp_servers"), max: maxMCPServers)
            var servers: [MCPServer] = []
            for (index, entry) in entries.enumerated() {
                let server = try ObjectReader(entry, at: reader.field("mcp_servers").index(index))
                try server.rejectUnknown(["type", "name", "url"])
                let type = try server.discriminator()
                guard type == "url" else { throw APIError.invalidRequest("\(server.field("type")): must be 'url'") }
                let name = try server.requiredString("name")
                try Rules.length(name, server.field("name"), min: 1, max: 255)
                if servers.contains(where: { $0.name == name }) {
                    throw APIError.invalidRequest("\(server.field("name")): duplicate MCP server name '\(name)'")
                }
                let url = try server.requiredString("url")
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw APIError.invalidRequest("\(server.field("url")): must be an http(s) URL")
                }
                servers.append(MCPServer(name: name, url: url))
            }
            return .value(servers)
        }
    }

    public static func skills(_ reader: ObjectReader) throws(APIError) -> Patch<[JSONValue]> {
        let patch = try reader.arrayPatch("skills")
        if let skills = patch.value {
            for (index, skill) in skills.enumerated() {
                let entry = try ObjectReader(skill, at: reader.field("skills").index(index))
                let type = try entry.discriminator()
                guard type == "anthropic" || type == "custom" else {
                    throw APIError.invalidRequest("\(entry.field("type")): must be 'anthropic' or 'custom'")
                }
                _ = try entry.requiredString("skill_id")
            }
            return .value(
                skills.map { skill in
                    var object = skill.objectValue ?? [:]
                    if object["version"] == nil || object["version"] == .null { object["version"] = "latest" }
                    return .object(object)
                })
        }
        return patch
    }

    public static func executionIdentity(_ reader: ObjectReader) throws(APIError) -> Patch<JSONValue> {
        switch reader.raw("execution_identity") {
        case .absent: return .absent
        case .null: return .null
        case .value(let value):
            let identity = try ObjectReader(value, at: reader.field("execution_identity"))
            switch try identity.discriminator() {
            case "service_account":
                return .value(Agent.defaultExecutionIdentity)
            case "aws_role":
                let arn = try identity.requiredString("role_arn")
                try Rules.length(arn, identity.field("role_arn"), min: 1, max: 2048)
                return .value(["type": "aws_role", "role_arn": .string(arn)])
            case let other:
                throw APIError.invalidRequest("\(identity.field("type")): unknown execution identity type '\(other)'")
            }
        }
    }

    public static func multiagent(_ reader: ObjectReader) throws(APIError) -> Patch<MultiagentRequest> {
        switch reader.raw("multiagent") {
        case .absent: return .absent
        case .null: return .null
        case .value(let value): return .value(try MultiagentRequest.parse(value, at: reader.field("multiagent")))
        }
    }

    /// Every MCP server must be used by an `mcp_toolset`, and every toolset must name a server.
    public static func checkMCPReferences(tools: [AgentTool], servers: [MCPServer]) throws(APIError) {
        let toolsetServers = Set(tools.compactMap { tool -> String? in
            if case .mcpToolset(let toolset) = tool { return toolset.serverName }
            return nil
        })
        for server in servers where !toolsetServers.contains(server.name) {
            throw APIError.invalidRequest("mcp_servers: server '\(server.name)' is not referenced by any mcp_toolset in tools")
        }
        for name in toolsetServers.sorted() where !servers.contains(where: { $0.name == name }) {
            throw APIError.invalidRequest("tools: mcp_toolset references unknown MCP server '\(name)'")
        }
    }
}

/// A parsed `POST /v1/agents` body.
public struct AgentCreateRequest: Sendable {
    public var name: String
    public var description: String?
    public var system: String?
    public var model: ModelConfig
    public var tools: [AgentTool]
    public var mcpServers: [MCPServer]
    public var skills: [JSONValue]
    public var multiagent: MultiagentRequest?
    public var metadata: [String: String]
    public var executionIdentity: JSONValue

    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown([
            "name", "description", "system", "model", "tools", "mcp_servers", "skills", "multiagent", "metadata",
            "execution_identity",
        ])
        guard let name = try AgentFields.name(reader) else { throw APIError.invalidRequest("name: required") }
        guard case .value(let modelValue) = reader.raw("model") else { throw APIError.invalidRequest("model: required") }
        self.name = name
        self.description = try AgentFields.description(reader).value
        self.system = try AgentFields.system(reader).value
        self.model = try ModelConfig.parse(modelValue, at: reader.field("model"))
        self.tools = try AgentFields.tools(reader).value ?? []
        self.mcpServers = try AgentFields.mcpServers(reader).value ?? []
        self.skills = try AgentFields.skills(reader).value ?? []
        self.multiagent = try AgentFields.multiagent(reader).value
        self.metadata = try Metadata.parse(reader.members["metadata"], at: reader.field("metadata"))
        self.executionIdentity = try AgentFields.executionIdentity(reader).value ?? Agent.defaultExecutionIdentity
        try AgentFields.checkMCPReferences(tools: tools, servers: mcpServers)
    }
}

/// A parsed `POST /v1/agents/{id}` body: every field a patch over the current version.
public struct AgentUpdateRequest: Sendable {
    public var name: String?
    public var description: Patch<String>
    public var system: Patch<String>
    public var model: ModelConfig?
    public var tools: Patch<[AgentTool]>
    public var mcpServers: Patch<[MCPServer]>
    public var skills: Patch<[JSONValue]>
    public var multiagent: Patch<MultiagentRequest>
    public var metadata: JSONValue?
    public var executionIdentity: Patch<JSONValue>
    /// The version the caller last saw; the update fails when the agent has moved on.
    public var expectedVersion: Int?

    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown([
            "name", "description", "system", "model", "tools", "mcp_servers", "skills", "multiagent", "metadata",
            "execution_identity", "version",
        ])
        if reader.raw("name") == .null { throw APIError.invalidRequest("name: cannot be cleared") }
        self.name = try AgentFields.name(reader)
        self.description = try AgentFields.description(reader)
        self.system = try AgentFields.system(reader)
        switch reader.raw("model") {
        case .absent: self.model = nil
        case .null: throw APIError.invalidRequest("model: cannot be cleared")
        case .value(let value): self.model = try ModelConfig.parse(value, at: reader.field("model"))
        }
        self.tools = try AgentFields.tools(reader)
        self.mcpServers = try AgentFields.mcpServers(reader)
        self.skills = try AgentFields.skills(reader)
        self.multiagent = try AgentFields.multiagent(reader)
        self.metadata = reader.members["metadata"]
        self.executionIdentity = try AgentFields.executionIdentity(reader)
        self.expectedVersion = try reader.int("version")
        if let version = expectedVersion, version < 1 {
            throw APIError.invalidRequest("version: must be at least 1")
        }
    }

    /// The agent this update produces from `current`, before the roster is resolved and the
    /// version decided. `multiagent` is applied by the caller, which can resolve agent ids.
    public func applied(to current: Agent) throws(APIError) -> Agent {
        var next = current
        if let name { next.name = name }
        next.description = description.applied(to: current.description).flatMap { $0.isEmpty ? nil : $0 }
        next.system = system.applied(to: current.system).flatMap { $0.isEmpty ? nil : $0 }
        if let model { next.model = model }
        next.tools = tools.applied(to: current.tools) ?? []
        next.mcpServers = mcpServers.applied(to: current.mcpServers) ?? []
        next.skills = skills.applied(to: current.skills) ?? []
        next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"))
        next.executionIdentity = executionIdentity.applied(to: current.executionIdentity) ?? Agent.defaultExecutionIdentity
        try AgentFields.checkMCPReferences(tools: next.tools, servers: next.mcpServers)
        return next
    }
}
