import Foundation
import ReverieCore
import ReverieStore

/// `/v1/sessions`: sessions, their event logs, resources and threads. What clients send is
/// checked, stored through the `SessionLog` and handed to the `SessionDriver` that runs agents.
public struct SessionService: Sendable {
    let store: any Store
    let log: SessionLog
    let memory: MemoryService
    let driver: any SessionDriver

    public init(store: any Store, log: SessionLog, memory: MemoryService, driver: any SessionDriver) {
        self.store = store
        self.log = log
        self.memory = memory
        self.driver = driver
    }

    public static let maxMemoryStoresPerSession = 8
    public static let maxTitleLength = 1024
    public static let maxMountInstructionsLength = 4096

    /// `POST /v1/sessions`.
    public func createSession(_ body: ObjectReader) async throws -> Session {
        try body.rejectUnknown(["agent", "environment_id", "title", "metadata", "initial_events", "resources", "vault_ids", "budget"])
        guard case .value(let agentValue) = body.raw("agent") else { throw APIError.invalidRequest("agent: required") }
        let agent = try await resolveSessionAgent(agentValue)
        let environmentID = try body.requiredString("environment_id")
        guard let environment = try await store.environment(id: environmentID) else {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' not found")
        }
        if environment.archivedAt != nil {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' is archived")
        }
        let title = try body.string("title")
        if let title { try Rules.length(title, body.field("title"), max: Self.maxTitleLength) }
        let metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))
        if let vaults = try body.stringArray("vault_ids"), !vaults.isEmpty {
            throw APIError.invalidRequest("vault_ids: vaults are not supported by Reverie")
        }
        if case .value = body.raw("budget") {
            throw APIError.invalidRequest("budget: spend budgets are not supported by Reverie (models have no list price here)")
        }
        let resources = try await parseResources(try body.array("resources") ?? [], at: body.field("resources"))
        var initialEvents: [SessionEvent] = []
        if let values = try body.array("initial_events"), !values.isEmpty {
            initialEvents = try UserEventRequest.parse(values, at: body.field("initial_events"), allowedTypes: [.userMessage, .userDefineOutcome])
        }
        let now = Timestamp.now()
        for index in initialEvents.indices { initialEvents[index].processedAt = now }
        let session = Session(
            id: ResourceID.make(ResourceID.session, at: now), agent: agent, environmentID: environmentID, title: title, metadata: metadata,
            resources: resources, createdAt: now, updatedAt: now)
        if !initialEvents.isEmpty {
            try await driver.validate(initialEvents, for: SessionHeader(id: session.id, environmentID: environmentID, archivedAt: nil, state: SessionState(updatedAt: now)))
        }
        let (created, stored) = try await store.createSession(session, initialEvents: initialEvents)
        if !stored.isEmpty {
            log.hub.publish(stored)
            if let header = try await store.sessionHeader(id: created.id) {
                await driver.eventsAppended(stored, session: header)
            }
        }
        return created
    }

    /// `GET /v1/sessions/{id}`.
    public func session(id: String) async throws -> Session {
        guard let session = try await store.session(id: id) else { throw APIError.notFound("session", id) }
        return session
    }

    /// `POST /v1/sessions/{id}`: title, metadata, and (while not running) the agent's tools and MCP servers.
    public func updateSession(id: String, _ body: ObjectReader) async throws -> Session {
        try body.rejectUnknown(["title", "metadata", "agent", "vault_ids", "budget"])
        let title = try body.stringPatch("title")
        if let value = title.value { try Rules.length(value, body.field("title"), max: Self.maxTitleLength) }
        let metadataPatch = body.members["metadata"]
        if let vaults = try body.stringArray("vault_ids"), !vaults.isEmpty {
            throw APIError.invalidRequest("vault_ids: vaults are not supported by Reverie")
        }
        if case .value = body.raw("budget") {
            throw APIError.invalidRequest("budget: spend budgets are not supported by Reverie")
        }
        var tools: Patch<[AgentTool]> = .absent
        var servers: Patch<[MCPServer]> = .absent
        if let agent = try body.object("agent") {
            try agent.rejectUnknown(["tools", "mcp_servers"])
            tools = try AgentFields.tools(agent)
            servers = try AgentFields.mcpServers(agent)
        }
        let now = Timestamp.now()
        let (toolsPatch, serversPatch) = (tools, servers)
        let before = try await session(id: id)
        let updated = try await store.updateSession(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("session", id) }
            var next = current
            next.title = title.applied(to: current.title)
            next.metadata = try Metadata.applyPatch(metadataPatch, to: current.metadata, at: FieldPath("metadata"))
            if toolsPatch.isPresent || serversPatch.isPresent {
                if current.status == .running {
                    throw APIError.invalidRequest("agent: the session is running; interrupt it before changing its tools")
                }
                next.agent.tools = toolsPatch.applied(to: current.agent.tools) ?? []
                next.agent.mcpServers = serversPatch.applied(to: current.agent.mcpServers) ?? []
                try AgentFields.checkMCPReferences(tools: next.agent.tools, servers: next.agent.mcpServers)
            }
            if next != current { next.updatedAt = now }
            return next
        }
        if let event = Self.updatedEvent(before: before, after: updated, now: now) {
            try await log.append([event], to: id)
        }
        return updated
    }

    /// The `session.updated` event for a change: only the fields that changed, metadata
    /// only when it is not cleared to empty.
    static func updatedEvent(before: Session, after: Session, now: Date) -> SessionEvent? {
        var fields: [String: JSONValue] = [:]
        if before.title != after.title { fields["title"] = after.title.map(JSONValue.string) ?? .null }
        if before.metadata != after.metadata, !after.metadata.isEmpty {
            fields["metadata"] = .object(after.metadata.mapValues(JSONValue.string))
        }
        if before.agent != after.agent, let agent = try? JSONCoding.value(after.agent) { fields["agent"] = agent }
        guard !fields.isEmpty || before.metadata != after.metadata else { return nil }
        return SessionEvent(type: .sessionUpdated, processedAt: now, fields: fields)
    }

    /// `GET /v1/sessions`.
    public func listSessions(_ filter: SessionFilter, page: PageRequest) async throws -> Page<Session> {
        try await store.listSessions(filter, page: page)
    }

    /// `DELETE /v1/sessions/{id}`: refused while the session is running.
    public func deleteSession(id: String) async throws {
        try await store.deleteSession(id: id) { header in
            if header.status == .running || header.status == .rescheduling {
                throw APIError.conflict("session '\(id)' is \(header.status.rawValue); send a user.interrupt and wait for it to go idle before deleting it")
            }
        }
        log.hub.close(sessionID: id)
        await driver.sessionDeleted(id: id)
    }

    /// `POST /v1/sessions/{id}/archive`: the session becomes read-only.
    public func archiveSession(id: String) async throws -> Session {
        let now = Timestamp.now()
        return try await store.updateSession(id: id) { current in
            guard current.archivedAt == nil else { return current }
            if current.status == .running || current.status == .rescheduling {
                throw APIError.conflict("session '\(id)' is running; interrupt it before archiving")
            }
            var next = current
            next.archivedAt = now
            next.updatedAt = now
            return next
        }
    }

    /// Resolves `agent` of a session create request: an id, a versioned reference, or a
    /// reference with overrides, into the snapshot the session will run.
    func resolveSessionAgent(_ value: JSONValue) async throws -> SessionAgent {
        let field = FieldPath("agent")
        var id: String
        var version: Int?
        var overrides: ObjectReader?
        switch value {
        case .string(let text):
            id = text
        default:
            let reader = try ObjectReader(value, at: field)
            switch try reader.discriminator() {
            case "agent":
                try reader.rejectUnknown(["type", "id", "version"])
            case "agent_with_overrides":
                try reader.rejectUnknown(["type", "id", "version", "model", "system", "tools", "mcp_servers", "skills"])
                overrides = reader
            case let other:
                throw APIError.invalidRequest("agent.type: must be 'agent' or 'agent_with_overrides', got '\(other)'")
            }
            id = try reader.requiredString("id")
            version = try reader.int("version")
            if let version, version < 1 { throw APIError.invalidRequest("agent.version: must be at least 1") }
        }
        guard let latest = try await store.agent(id: id) else { throw APIError.invalidRequest("agent: agent '\(id)' not found") }
        if latest.archivedAt != nil { throw APIError.invalidRequest("agent: agent '\(id)' is archived") }
        var agent = latest
        if let version, version != latest.version {
            guard let pinned = try await store.agent(id: id, version: version) else {
                throw APIError.invalidRequest("agent.version: agent '\(id)' has no version \(version)")
            }
            agent = pinned
        }
        var snapshot = SessionAgent(agent)
        if let overrides {
            if case .value(let model) = overrides.raw("model") { snapshot.model = try ModelConfig.parse(model, at: overrides.field("model")) }
            let system = try AgentFields.system(overrides)
            if system.isPresent { snapshot.system = system.value }
            if let tools = try AgentFields.tools(overrides).value { snapshot.tools = tools }
            if let servers = try AgentFields.mcpServers(overrides).value { snapshot.mcpServers = servers }
            if let skills = try AgentFields.skills(overrides).value { snapshot.skills = skills }
            try AgentFields.checkMCPReferences(tools: snapshot.tools, servers: snapshot.mcpServers)
        }
        if case .coordinator(let roster)? = agent.multiagent {
            var members: [SessionAgent] = []
            for reference in roster {
                if reference.id == agent.id {
                    var copy = snapshot
                    copy.roster = nil
                    members.append(copy)
                    continue
                }
                guard let member = try await store.agent(id: reference.id, version: reference.version) else {
                    throw APIError.invalidRequest("agent: roster agent '\(reference.id)' version \(reference.version) no longer exists")
                }
                members.append(SessionAgent(member))
            }
            snapshot.roster = members
        }
        return snapshot
    }

    /// Parses `resources`: memory stores to mount (at most 8, each at most once).
    func parseResources(_ values: [JSONValue], at field: FieldPath) async throws -> [SessionResource] {
        var resources: [SessionResource] = []
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
                if let instructions { try Rules.length(instructions, reader.field("instructions"), max: Self.maxMountInstructionsLength) }
                if resources.contains(where: { if case .memoryStore(let mount) = $0 { mount.memoryStoreID == storeID } else { false } }) {
                    throw APIError.invalidRequest("\(reader.field("memory_store_id")): memory store '\(storeID)' is mounted twice")
                }
                resources.append(.memoryStore(try await memory.resolveMount(storeID: storeID, access: access, instructions: instructions, at: reader)))
            case "github_repository", "file":
                throw APIError.invalidRequest("\(reader.field("type")): '\(try reader.discriminator())' resources are not supported by Reverie; mount memory stores instead")
            case let other:
                throw APIError.invalidRequest("\(reader.field("type")): unknown resource type '\(other)'")
            }
        }
        let mounts = resources.count
        if mounts > Self.maxMemoryStoresPerSession {
            throw APIError.invalidRequest("\(field): at most \(Self.maxMemoryStoresPerSession) memory stores per session (got \(mounts))")
        }
        return MemoryService.uniqueMountPaths(resources)
    }
}
