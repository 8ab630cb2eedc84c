import Foundation

/// A parsed `POST /v1/sessions` body. References (the agent, the environment, memory stores)
/// are checked against what exists when the session is created.
public struct SessionCreateRequest: Sendable {
    public static let maxTitleLength = 1024
    public static let maxMountInstructionsLength = 4096
    public static let maxMemoryStores = 8

    public var agent: SessionAgentReference
    public var environmentID: String
    public var title: String?
    public var metadata: [String: String]
    /// Memory stores to mount, in order.
    public var mounts: [MemoryMountRequest]
    /// Files of the Files API to mount.
    public var files: [FileMountRequest]
    /// `user.message` and `user.define_outcome` events to start with.
    public var initialEvents: [SessionEvent]
    /// The spend ceiling.
    public var budget: SessionBudget?
    /// Vaults whose credentials the session may use, in order (checked when the session is created).
    public var vaultIDs: [String]
    /// Set by a deployment's run (never read from a request body): the run record, stored in
    /// the same transaction as the session (whose id is the run's `session_id`), so one
    /// occurrence of a schedule creates one session however many processes fire it.
    public var deploymentRun: DeploymentRun?

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["agent", "environment_id", "title", "metadata", "initial_events", "resources", "vault_ids", "budget"])
        guard case .value(let agentValue) = body.raw("agent") else { throw APIError.invalidRequest("agent: required") }
        agent = try SessionAgentReference(agentValue, at: body.field("agent"))
        environmentID = try body.requiredString("environment_id")
        title = try body.string("title")
        if let title { try Rules.length(title, body.field("title"), max: Self.maxTitleLength) }
        metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))
        vaultIDs = try SessionVaults.parse(body)
        if case .value(let value) = body.raw("budget") { budget = try SessionBudget.parse(value, at: body.field("budget")) } else { budget = nil }
        mounts = try MemoryMountRequest.parse(try body.array("resources") ?? [], at: body.field("resources"))
        files = try FileMountRequest.parse(try body.array("resources") ?? [], at: body.field("resources"))
        initialEvents = []
        if let values = try body.array("initial_events"), !values.isEmpty {
            initialEvents = try UserEventRequest.parse(values, at: body.field("initial_events"), allowedTypes: [.userMessage, .userDefineOutcome])
        }
    }
}

/// The `agent` of a session create request: an agent id (its latest version), a pinned
/// version, or a version with overrides.
public struct SessionAgentReference: Sendable {
    public var id: String
    public var version: Int?
    public var overrides: AgentOverrides?

    public init(_ value: JSONValue, at field: FieldPath) throws(APIError) {
        if case .string(let text) = value {
            id = text
            return
        }
        let reader = try ObjectReader(value, at: field)
        switch try reader.discriminator() {
        case "agent":
            try reader.rejectUnknown(["type", "id", "version"])
        case "agent_with_overrides":
            try reader.rejectUnknown(["type", "id", "version", "model", "system", "tools", "mcp_servers", "skills"])
            overrides = try AgentOverrides(reader)
        case let other:
            throw APIError.invalidRequest("agent.type: must be 'agent' or 'agent_with_overrides', got '\(other)'")
        }
        id = try reader.requiredString("id")
        version = try reader.int("version")
        if let version, version < 1 { throw APIError.invalidRequest("agent.version: must be at least 1") }
    }
}

/// What `agent_with_overrides` replaces in the session's snapshot of the agent.
public struct AgentOverrides: Sendable {
    public var model: ModelConfig?
    public var system: Patch<String>
    public var tools: [AgentTool]?
    public var mcpServers: [MCPServer]?
    public var skills: [JSONValue]?

    init(_ reader: ObjectReader) throws(APIError) {
        if case .value(let model) = reader.raw("model") { self.model = try ModelConfig.parse(model, at: reader.field("model")) }
        system = try AgentFields.system(reader)
        tools = try AgentFields.tools(reader).value
        mcpServers = try AgentFields.mcpServers(reader).value
        skills = try AgentFields.skills(reader).value
    }

    /// `snapshot` with the overrides applied; MCP toolsets must name configured servers.
    public func applied(to snapshot: SessionAgent) throws(APIError) -> SessionAgent {
        var next = snapshot
        if let model { next.model = model }
        if system.isPresent { next.system = system.value }
        if let tools { next.tools = tools }
        if let mcpServers { next.mcpServers = mcpServers }
        if let skills { next.skills = skills }
        try AgentFields.checkMCPReferences(tools: next.tools, servers: next.mcpServers)
        return next
    }
}

/// One `{type: "memory_store", memory_store_id, access, instructions}` resource.
public struct MemoryMountRequest: Sendable {
    public var memoryStoreID: String
    public var access: MemoryAccess
    public var instructions: String?
    /// Where `memory_store_id` was sent (`resources[i].memory_store_id`), for errors about the store.
    public var field: FieldPath

    /// Parses `resources`: memory stores, at most 8, each at most once.
    public static func parse(_ values: [JSONValue], at field: FieldPath) throws(APIError) -> [MemoryMountRequest] {
        var mounts: [MemoryMountRequest] = []
        for (index, value) in values.enumerated() {
            let reader = try ObjectReader(value, at: field.index(index))
            switch try reader.discriminator() {
            case "memory_store":
                try reader.rejectUnknown(["type", "memory_store_id", "access", "instructions"])
                let storeID = try reader.requiredString("memory_store_id")
                let accessText = try reader.string("access") ?? MemoryAccess.readWrite.rawValue
                guard let access = MemoryAccess(rawValue: accessText) else {
                    throw APIError.invalidRequest("\(reader.field("access")): must be 'read_write' or 'read_only'")
                }
                let instructions = try reader.string("instructions")
                if let instructions {
                    try Rules.length(instructions, reader.field("instructions"), max: SessionCreateRequest.maxMountInstructionsLength)
                }
                if mounts.contains(where: { $0.memoryStoreID == storeID }) {
                    throw APIError.invalidRequest("\(reader.field("memory_store_id")): memory store '\(storeID)' is mounted twice")
                }
                mounts.append(MemoryMountRequest(
                    memoryStoreID: storeID, access: access, instructions: instructions, field: reader.field("memory_store_id")))
            case "file":
                continue
            case "github_repository":
                throw APIError.invalidRequest(
                    "\(reader.field("type")): 'github_repository' resources are not supported by Reverie; mount memory stores or files instead")
            case let other:
                throw APIError.invalidRequest("\(reader.field("type")): unknown resource type '\(other)'")
            }
        }
        if mounts.count > SessionCreateRequest.maxMemoryStores {
            throw APIError.invalidRequest("\(field): at most \(SessionCreateRequest.maxMemoryStores) memory stores per session (got \(mounts.count))")
        }
        return mounts
    }
}

/// A parsed `POST /v1/sessions/{id}` body: title, metadata, and the agent's tools and MCP servers.
public struct SessionUpdateRequest: Sendable {
    public var title: Patch<String>
    /// The metadata patch as sent (keys set to null are removed).
    public var metadata: JSONValue?
    public var tools: Patch<[AgentTool]>
    public var mcpServers: Patch<[MCPServer]>
    /// A new budget (`.value`), its removal (`.null`), or no change.
    public var budget: Patch<SessionBudget>
    /// The session's new vaults (replacing the list), or nil when not sent.
    public var vaultIDs: [String]?

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["title", "metadata", "agent", "vault_ids", "budget"])
        title = try body.stringPatch("title")
        if let value = title.value { try Rules.length(value, body.field("title"), max: SessionCreateRequest.maxTitleLength) }
        metadata = body.members["metadata"]
        vaultIDs = body.contains("vault_ids") ? try SessionVaults.parse(body) : nil
        switch body.raw("budget") {
        case .absent: budget = .absent
        case .null: budget = .null
        case .value(let value): budget = .value(try SessionBudget.parse(value, at: body.field("budget")))
        }
        tools = .absent
        mcpServers = .absent
        if let agent = try body.object("agent") {
            try agent.rejectUnknown(["tools", "mcp_servers"])
            tools = try AgentFields.tools(agent)
            mcpServers = try AgentFields.mcpServers(agent)
        }
    }
}

/// A parsed `POST /v1/sessions/{id}/events` body.
public struct EventsSendRequest: Sendable {
    public var events: [SessionEvent]

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["events"])
        guard let values = try body.array("events") else { throw APIError.invalidRequest("events: required") }
        events = try UserEventRequest.parse(values, at: body.field("events"))
    }
}

/// One `{type: "file", file_id, mount_path}` resource.
public struct FileMountRequest: Sendable {
    public var fileID: String
    /// Where the file appears in the sandbox (default `/mnt/session/uploads/<file_id>`).
    public var mountPath: String
    /// Where `file_id` was sent, for errors about the file.
    public var field: FieldPath

    public static let maxFiles = 100

    /// One resource object (`sessions.resources.add`).
    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown(["type", "file_id", "mount_path"])
        fileID = try reader.requiredString("file_id")
        mountPath = try FileMount.mountPath(try reader.string("mount_path"), fileID: fileID, at: reader.field("mount_path").description)
        field = reader.field("file_id")
    }

    /// The `file` entries of `resources` (other types are parsed by `MemoryMountRequest`);
    /// each mount path at most once.
    public static func parse(_ values: [JSONValue], at field: FieldPath) throws(APIError) -> [FileMountRequest] {
        var files: [FileMountRequest] = []
        for (index, value) in values.enumerated() {
            let reader = try ObjectReader(value, at: field.index(index))
            guard try reader.discriminator() == "file" else { continue }
            let file = try FileMountRequest(reader)
            if files.contains(where: { $0.mountPath == file.mountPath }) {
                throw APIError.invalidRequest("\(reader.field("mount_path")): '\(file.mountPath)' is used by another file")
            }
            files.append(file)
        }
        if files.count > maxFiles { throw APIError.invalidRequest("\(field): at most \(maxFiles) files per session (got \(files.count))") }
        return files
    }
}

/// A session's `vault_ids`: at most `maxVaults` distinct ids (as many as a deployment may name).
public enum SessionVaults {
    public static let maxVaults = 50

    static func parse(_ body: ObjectReader) throws(APIError) -> [String] {
        let ids = try body.stringArray("vault_ids") ?? []
        try Rules.count(ids, body.field("vault_ids"), max: maxVaults)
        var seen = Set<String>()
        for (index, id) in ids.enumerated() {
            if id.isEmpty { throw APIError.invalidRequest("\(body.field("vault_ids").index(index)): must not be empty") }
            if !seen.insert(id).inserted { throw APIError.invalidRequest("\(body.field("vault_ids").index(index)): vault '\(id)' is listed twice") }
        }
        return ids
    }
}
