import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func createAgent(_ agent: Agent) async throws {
        let body = try Self.encode(agent)
        try await write { db in
            try await db.execute(
                "INSERT INTO agents (id, created_at, archived_at, version, body) VALUES (?, ?, ?, ?, ?)",
                [agent.id, Timestamp.micros(agent.createdAt), agent.archivedAt.map(Timestamp.micros), agent.version, body])
            try await db.execute(
                "INSERT INTO agent_versions (agent_id, version, created_at, body) VALUES (?, ?, ?, ?)",
                [agent.id, agent.version, Timestamp.micros(agent.updatedAt), body])
            try await Self.enqueue([OutboxEvent(type: "agent.created", resourceID: agent.id, createdAt: agent.createdAt)], db)
        }
    }

    public func agent(id: String) async throws -> Agent? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM agents WHERE id = ?", [id]).map { try Self.decode(Agent.self, $0) }
        }
    }

    public func agent(id: String, version: Int) async throws -> Agent? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM agent_versions WHERE agent_id = ? AND version = ?", [id, version])
                .map { try Self.decode(Agent.self, $0) }
        }
    }

    public func updateAgent(id: String, _ change: @Sendable (Agent) throws -> Agent) async throws -> Agent {
        try await write { db in
            guard let body = try await db.scalar(String.self, "SELECT body FROM agents WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("agent", id)
            }
            let current = try Self.decode(Agent.self, body)
            let next = try change(current)
            guard next != current else { return current }
            let nextBody = try Self.encode(next)
            try await db.execute(
                "UPDATE agents SET archived_at = ?, version = ?, body = ? WHERE id = ?",
                [next.archivedAt.map(Timestamp.micros), next.version, nextBody, id])
            var outbox: [OutboxEvent] = []
            if next.version != current.version {
                try await db.execute(
                    "INSERT INTO agent_versions (agent_id, version, created_at, body) VALUES (?, ?, ?, ?)",
                    [id, next.version, Timestamp.micros(next.updatedAt), nextBody])
                outbox.append(OutboxEvent(type: "agent.updated", resourceID: id, createdAt: next.updatedAt))
            }
            if current.archivedAt == nil, let archivedAt = next.archivedAt {
                outbox.append(OutboxEvent(type: "agent.archived", resourceID: id, createdAt: archivedAt))
            }
            try await Self.enqueue(outbox, db)
            return next
        }
    }

    public func listAgents(_ filter: AgentFilter, page: PageRequest) async throws -> Page<Agent> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "agents", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Agent.self, $0["body"]) },
                position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func listAgentVersions(id: String, page: PageRequest) async throws -> Page<Agent> {
        try await read { db in
            guard try await db.fetchOne("SELECT 1 FROM agents WHERE id = ?", [id]) != nil else { throw APIError.notFound("agent", id) }
            var query = PostgresKeysetQuery(sortColumn: "version", idColumn: "agent_id")
            query.filter("agent_id = ?", [id])
            return try await query.page(
                db, from: "agent_versions", select: "agent_id, version, body", page: page,
                decode: { try Self.decode(Agent.self, $0["body"]) },
                position: { (try $0["version"], try $0["agent_id"]) })
        }
    }
}
