extension AgentTool: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do {
            self = try AgentTool.parse(value, at: FieldPath("tool"))
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    /// The resolved wire form.
    public var json: JSONValue {
        switch self {
        case .agentToolset(let toolset):
            return [
                "type": .string(AgentToolset.type),
                "configs": .array(
                    toolset.configs.map { config in
                        var object = config.options
                        object["type"] = .string(config.name.rawValue)
                        object["name"] = .string(config.name.rawValue)
                        object["enabled"] = .bool(config.enabled)
                        object["permission_policy"] = config.permissionPolicy.json
                        return .object(object)
                    }),
                "default_config": [
                    "enabled": .bool(toolset.defaults.enabled), "permission_policy": toolset.defaults.permissionPolicy.json,
                ],
            ]
        case .mcpToolset(let toolset):
            return [
                "type": "mcp_toolset",
                "mcp_server_name": .string(toolset.serverName),
                "configs": .array(
                    toolset.configs.map {
                        ["name": .string($0.name), "enabled": .bool($0.enabled), "permission_policy": $0.permissionPolicy.json]
                    }),
                "default_config": [
                    "enabled": .bool(toolset.defaults.enabled), "permission_policy": toolset.defaults.permissionPolicy.json,
                ],
            ]
        case .custom(let tool):
            return [
                "type": "custom", "name": .string(tool.name), "description": .string(tool.description),
                "input_schema": .object(tool.inputSchema),
            ]
        }
    }

    /// Parses one request entry of `tools`, resolving defaults.
    public static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> AgentTool {
        let reader = try ObjectReader(value, at: field)
        switch try reader.discriminator() {
        case AgentToolset.type:
            try reader.rejectUnknown(["type", "configs", "default_config"])
            let defaults = try parseDefaults(reader, fallback: .alwaysAllow)
            var configs: [BuiltinToolConfig] = []
            for (index, entry) in (try reader.array("configs") ?? []).enumerated() {
                let path = reader.field("configs").index(index)
                let config = try ObjectReader(entry, at: path)
                let nameText = try config.requiredString("name")
                guard let name = BuiltinToolName(rawValue: nameText) else {
                    throw APIError.invalidRequest(
                        "\(config.field("name")): unknown tool '\(nameText)'; expected one of \(BuiltinToolName.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                if let type = try config.string("type"), type != nameText {
                    throw APIError.invalidRequest("\(config.field("type")): must equal name '\(nameText)'")
                }
                if configs.contains(where: { $0.name == name }) {
                    throw APIError.invalidRequest("\(config.field("name")): tool '\(nameText)' is configured twice")
                }
                var options = config.members
                for key in ["name", "type", "enabled", "permission_policy"] { options[key] = nil }
                let allowedOptions: Set<String> =
                    switch name {
                    case .webFetch: ["allowed_domains", "blocked_domains", "max_content_tokens", "url_sources"]
                    case .webSearch: ["allowed_domains", "blocked_domains", "user_location"]
                    default: []
                    }
                for key in options.keys.sorted() where !allowedOptions.contains(key) {
                    throw APIError.invalidRequest("\(config.field(key)): unknown field")
                }
                options = options.filter { !$0.value.isNull }
                try validateDomains(options, config)
                configs.append(
                    BuiltinToolConfig(
                        name: name,
                        enabled: try config.bool("enabled") ?? defaults.enabled,
                        permissionPolicy: try config.object("permission_policy").map { policy throws(APIError) in
                            try PermissionPolicy.parse(.object(policy.members), at: policy.path)
                        } ?? defaults.permissionPolicy,
                        options: options
                    ))
            }
            return .agentToolset(AgentToolset(configs: configs, defaults: defaults))
        case "mcp_toolset":
            try reader.rejectUnknown(["type", "configs", "default_config", "mcp_server_name"])
            let serverName = try reader.requiredString("mcp_server_name")
            try Rules.length(serverName, reader.field("mcp_server_name"), min: 1, max: 255)
            let defaults = try parseDefaults(reader, fallback: .alwaysAsk)
            var configs: [MCPToolConfig] = []
            for (index, entry) in (try reader.array("configs") ?? []).enumerated() {
                let config = try ObjectReader(entry, at: reader.field("configs").index(index))
                try config.rejectUnknown(["name", "enabled", "permission_policy"])
                let name = try config.requiredString("name")
                try Rules.length(name, config.field("name"), min: 1, max: 128)
                configs.append(
                    MCPToolConfig(
                        name: name,
                        enabled: try config.bool("enabled") ?? defaults.enabled,
                        permissionPolicy: try config.object("permission_policy").map { policy throws(APIError) in
                            try PermissionPolicy.parse(.object(policy.members), at: policy.path)
                        } ?? defaults.permissionPolicy
                    ))
            }
            return .mcpToolset(MCPToolset(serverName: serverName, configs: configs, defaults: defaults))
        case "custom":
            try reader.rejectUnknown(["type", "name", "description", "input_schema"])
            let name = try reader.requiredString("name")
            try Rules.length(name, reader.field("name"), min: 1, max: 128)
            if !name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }) {
                throw APIError.invalidRequest("\(reader.field("name")): may contain only letters, digits, underscores and hyphens")
            }
            let description = try reader.requiredString("description")
            let schema = try reader.requiredObject("input_schema")
            if let type = schema.members["type"], type != .string("object") {
                throw APIError.invalidRequest("\(schema.field("type")): must be 'object'")
            }
            var inputSchema = schema.members
            inputSchema["type"] = "object"
            return .custom(CustomTool(name: name, description: description, inputSchema: inputSchema))
        case let other:
            throw APIError.invalidRequest(
                "\(reader.field("type")): unknown tool type '\(other)'; expected agent_toolset_20260401, mcp_toolset or custom")
        }
    }

    private static func parseDefaults(_ reader: ObjectReader, fallback: PermissionPolicy) throws(APIError) -> ToolDefaults {
        guard let defaults = try reader.object("default_config") else {
            return ToolDefaults(enabled: true, permissionPolicy: fallback)
        }
        try defaults.rejectUnknown(["enabled", "permission_policy"])
        let policy = try defaults.object("permission_policy").map { policy throws(APIError) in
            try PermissionPolicy.parse(.object(policy.members), at: policy.path)
        }
        return ToolDefaults(enabled: try defaults.bool("enabled") ?? true, permissionPolicy: policy ?? fallback)
    }

    private static func validateDomains(_ options: [String: JSONValue], _ config: ObjectReader) throws(APIError) {
        if options["allowed_domains"] != nil, options["blocked_domains"] != nil {
            throw APIError.invalidRequest("\(config.path): allowed_domains cannot be combined with blocked_domains")
        }
        for key in ["allowed_domains", "blocked_domains"] {
            guard let domains = try config.stringArray(key) else { continue }
            if domains.isEmpty {
                throw APIError.invalidRequest("\(config.field(key)): must not be empty (omit the field instead)")
            }
            try Rules.count(domains, config.field(key), max: 64)
        }
    }

    /// The names this tool contributes to the model's tool list, for uniqueness checks.
    public var toolCount: Int {
        switch self {
        case .agentToolset: BuiltinToolName.allCases.count
        case .mcpToolset(let toolset): max(1, toolset.configs.count)
        case .custom: 1
        }
    }
}
