import Foundation
import ReverieCore
import ReverieStore

/// `/v1/agents`: agents and their versions.
public struct AgentService: Sendable {
    /// Agents, and the skills they name.
    let store: any AgentStore & SkillStore

    public init(store: any AgentStore & SkillStore) {
        self.store = store
    }
}

extension AgentService {
    /// `POST /v1/agents`.
    public func createAgent(_ request: AgentCreateRequest) async throws -> Agent {
        try await SkillService.check(request.skills, in: store)
        let now = Timestamp.now()
        let id = ResourceID.make(ResourceID.agent, at: now)
        var multiagent: Multiagent?
        if let requested = request.multiagent {
            multiagent = try await resolveRoster(requested, ownerID: id, ownerVersion: 1)
        }
        let agent = Agent(
            id: id, name: request.name, description: request.description, system: request.system, model: request.model,
            tools: request.tools, mcpServers: request.mcpServers, skills: request.skills, multiagent: multiagent,
            metadata: request.metadata, executionIdentity: request.executionIdentity, version: 1, createdAt: now, updatedAt: now)
        try await store.createAgent(agent)
        return agent
    }

    /// `GET /v1/agents/{id}` (optionally a given `version`).
    public func agent(id: String, version: Int? = nil) async throws -> Agent {
        if let version {
            guard version >= 1 else { throw APIError.invalidRequest("version: must be at least 1") }
            guard let agent = try await store.agent(id: id, version: version) else {
                if try await store.agent(id: id) == nil { throw APIError.notFound("agent", id) }
                throw APIError(.notFound, "agent '\(id)' has no version \(version)")
            }
            return agent
        }
        guard let agent = try await store.agent(id: id) else { throw APIError.notFound("agent", id) }
        return agent
    }

    /// `POST /v1/agents/{id}`: a new version when anything changes; the same version otherwise.
    public func updateAgent(id: String, _ request: AgentUpdateRequest) async throws -> Agent {
        let current = try await agent(id: id)
        if let skills = request.skills.value { try await SkillService.check(skills, in: store) }
        var resolvedMultiagent: Multiagent?? = nil
        switch request.multiagent {
        case .absent: break
        case .null: resolvedMultiagent = .some(nil)
        case .value(let requested):
            resolvedMultiagent = .some(try await resolveRoster(requested, ownerID: id, ownerVersion: current.version + 1))
        }
        let now = Timestamp.now()
        let multiagentChange = resolvedMultiagent
        return try await store.updateAgent(id: id) { stored in
            if stored.archivedAt != nil { throw APIError.archived("agent", id) }
            if let expected = request.expectedVersion, expected != stored.version {
                throw APIError.conflict("agent '\(id)' is at version \(stored.version), not \(expected); retrieve it and retry")
            }
            var next = try request.applied(to: stored)
            if let multiagentChange { next.multiagent = multiagentChange }
            if next.hasSameConfiguration(as: stored) { return stored }
            if stored.version != current.version, case .coordinator(let roster)? = next.multiagent {
                // The agent moved on while we resolved the roster; `self` must name the new version.
                next.multiagent = .coordinator(agents: roster.map { $0.id == id ? AgentReference(id: id, version: stored.version + 1) : $0 })
            }
            next.version = stored.version + 1
            next.updatedAt = now
            return next
        }
    }

    /// `GET /v1/agents`.
    public func listAgents(_ filter: AgentFilter, page: PageRequest) async throws -> Page<Agent> {
        try await store.listAgents(filter, page: page)
    }

    /// `GET /v1/agents/{id}/versions`.
    public func listAgentVersions(id: String, page: PageRequest) async throws -> Page<Agent> {
        try await store.listAgentVersions(id: id, page: page)
    }

    /// `POST /v1/agents/{id}/archive`: the agent becomes read-only and cannot start new sessions.
    public func archiveAgent(id: String) async throws -> Agent {
        let now = Timestamp.now()
        return try await store.updateAgent(id: id) { stored in
            guard stored.archivedAt == nil else { return stored }
            var next = stored
            next.archivedAt = now
            next.updatedAt = now
            return next
        }
    }

    /// Resolves a coordinator roster to concrete agent versions, enforcing the rules: agents
    /// exist and are not archived, entries are distinct, and no entry is itself a coordinator.
    func resolveRoster(_ request: MultiagentRequest, ownerID: String, ownerVersion: Int) async throws -> Multiagent {
        guard case .coordinator(let entries) = request else { throw APIError.invalidRequest("multiagent: unsupported topology") }
        var resolved: [AgentReference] = []
        for (index, entry) in entries.enumerated() {
            let field = "multiagent.agents[\(index)]"
            let reference: AgentReference
            switch entry {
            case .this:
                reference = AgentReference(id: ownerID, version: ownerVersion)
            case .agent(let id, let version):
                if id == ownerID {
                    reference = AgentReference(id: ownerID, version: version ?? ownerVersion)
                    break
                }
                guard let target = try await store.agent(id: id) else {
                    throw APIError.invalidRequest("\(field): agent '\(id)' not found")
                }
                if target.archivedAt != nil { throw APIError.invalidRequest("\(field): agent '\(id)' is archived") }
                if target.multiagent != nil {
                    throw APIError.invalidRequest("\(field): agent '\(id)' is itself a coordinator; delegation is one level deep")
                }
                if let version {
                    guard try await store.agent(id: id, version: version) != nil else {
                        throw APIError.invalidRequest("\(field): agent '\(id)' has no version \(version)")
                    }
                }
                reference = AgentReference(id: id, version: version ?? target.version)
            }
            if resolved.contains(where: { $0.id == reference.id }) {
                throw APIError.invalidRequest("\(field): agent '\(reference.id)' appears more than once in the roster")
            }
            resolved.append(reference)
        }
        return .coordinator(agents: resolved)
    }
}
