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

    /// `POST /v1/sessions`.
    public func createSession(_ request: SessionCreateRequest) async throws -> Session {
        let agent = try await resolveSessionAgent(request.agent)
        let environmentID = request.environmentID
        guard let environment = try await store.environment(id: environmentID) else {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' not found")
        }
        if environment.archivedAt != nil {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' is archived")
        }
        var resources: [SessionResource] = []
        for mount in request.mounts { resources.append(.memoryStore(try await memory.resolveMount(mount))) }
        resources = MemoryService.uniqueMountPaths(resources)
        let now = Timestamp.now()
        if !request.files.isEmpty, environment.config == .selfHosted { throw Self.filesOnSelfHosted(environmentID) }
        for file in request.files { resources.append(.file(try await fileMount(file, at: now))) }
        if request.budget != nil { try checkBudgetable(agent) }
        try await checkVaults(request.vaultIDs)
        var initialEvents = request.initialEvents
        for index in initialEvents.indices { initialEvents[index].processedAt = now }
        var session = Session(
            id: request.deploymentRun?.sessionID ?? ResourceID.make(ResourceID.session, at: now), agent: agent, environmentID: environmentID, title: request.title,
            metadata: request.metadata, resources: resources, createdAt: now, updatedAt: now)
        session.budget = request.budget
        session.vaultIDs = request.vaultIDs
        session.deploymentID = request.deploymentRun?.deploymentID
        if !initialEvents.isEmpty {
            try await driver.validate(initialEvents, for: SessionHeader(id: session.id, environmentID: environmentID, archivedAt: nil, state: SessionState(updatedAt: now)))
        }
        let (created, stored) = try await store.createSession(session, initialEvents: initialEvents, deploymentRun: request.deploymentRun)
        if !stored.isEmpty {
            log.hub.publish(stored)
            if let header = try await log.header(id: created.id) {
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
    public func updateSession(id: String, _ request: SessionUpdateRequest) async throws -> Session {
        let now = Timestamp.now()
        let before = try await session(id: id)
        if let vaultIDs = request.vaultIDs { try await checkVaults(vaultIDs) }
        let updated = try await store.updateSession(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("session", id) }
            var next = current
            next.title = request.title.applied(to: current.title)
            next.metadata = try Metadata.applyPatch(request.metadata, to: current.metadata, at: FieldPath("metadata"))
            if request.tools.isPresent || request.mcpServers.isPresent {
                if current.status == .running {
                    throw APIError.invalidRequest("agent: the session is running; interrupt it before changing its tools")
                }
                next.agent.tools = request.tools.applied(to: current.agent.tools) ?? []
                next.agent.mcpServers = request.mcpServers.applied(to: current.agent.mcpServers) ?? []
                try AgentFields.checkMCPReferences(tools: next.agent.tools, servers: next.agent.mcpServers)
            }
            if let vaultIDs = request.vaultIDs { next.vaultIDs = vaultIDs }
            switch request.budget {
            case .absent: break
            case .null: next.budget = nil
            case .value(let budget):
                guard current.budget != nil else {
                    throw APIError(.invalidRequest, "budget: a budget can only be set when the session is created", details: ["error_code": "budget_create_only"])
                }
                if current.status == .terminated { throw APIError.invalidRequest("budget: the session is terminated") }
                guard budget.maxListCost.micros > current.usage.listCostMicros else {
                    throw APIError(
                        .invalidRequest, "budget.max_list_cost: must be above the session's list cost so far (\(MonetaryAmount(micros: current.usage.listCostMicros).cents) cents)",
                        details: ["error_code": "budget_not_raised"])
                }
                try checkBudgetable(current.agent)
                next.budget = budget
            }
            if next != current { next.updatedAt = now }
            return next
        }
        if let event = Self.updatedEvent(before: before, after: updated, now: now) {
            try await log.append([event], to: id)
        }
        return updated
    }

    /// Each of `vaultIDs` must name a vault that exists and is not archived.
    func checkVaults(_ vaultIDs: [String]) async throws {
        for (index, id) in vaultIDs.enumerated() {
            guard let vault = try await store.vault(id: id) else {
                throw APIError(.notFound, "vault_ids[\(index)]: vault '\(id)' not found")
            }
            if vault.archivedAt != nil { throw APIError.invalidRequest("vault_ids[\(index)]: vault '\(id)' is archived") }
        }
    }

    /// A budget counts list cost: every model the session can run must have a list price.
    func checkBudgetable(_ agent: SessionAgent) throws {
        let models = [agent.model.id] + (agent.roster ?? []).map(\.model.id)
        if let model = models.first(where: { !driver.isBudgetable(model: $0) }) {
            throw APIError(
                .invalidRequest, "budget: model '\(model)' has no list price, so a budget cannot measure it (set `price` on its route in REVERIE_MODELS)",
                details: ["error_code": "model_not_budgetable"])
        }
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

    /// Resolves the `agent` of a session create request into the snapshot the session will
    /// run: the agent's latest or pinned version, with any overrides, and a coordinator's roster.
    func resolveSessionAgent(_ reference: SessionAgentReference) async throws -> SessionAgent {
        let id = reference.id
        guard let latest = try await store.agent(id: id) else { throw APIError.invalidRequest("agent: agent '\(id)' not found") }
        if latest.archivedAt != nil { throw APIError.invalidRequest("agent: agent '\(id)' is archived") }
        var agent = latest
        if let version = reference.version, version != latest.version {
            guard let pinned = try await store.agent(id: id, version: version) else {
                throw APIError.invalidRequest("agent.version: agent '\(id)' has no version \(version)")
            }
            agent = pinned
        }
        var snapshot = SessionAgent(agent)
        if let overrides = reference.overrides { snapshot = try overrides.applied(to: snapshot) }
        snapshot.skills = try await SkillService.resolved(snapshot.skills, in: store)
        if case .coordinator(let roster)? = agent.multiagent {
            var members: [SessionAgent] = []
            for member in roster {
                if member.id == agent.id {
                    var copy = snapshot
                    copy.roster = nil
                    members.append(copy)
                    continue
                }
                guard let stored = try await store.agent(id: member.id, version: member.version) else {
                    throw APIError.invalidRequest("agent: roster agent '\(member.id)' version \(member.version) no longer exists")
                }
                members.append(SessionAgent(stored))
            }
            snapshot.roster = members
        }
        return snapshot
    }
}
