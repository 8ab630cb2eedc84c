import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func createEnvironment(_ environment: Environment) async throws {
        let body = try Self.encode(environment)
        try await write { db in
            try await db.execute(
                "INSERT INTO environments (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                [environment.id, Timestamp.micros(environment.createdAt), environment.archivedAt.map(Timestamp.micros), body])
            try await Self.enqueue([OutboxEvent(type: "environment.created", resourceID: environment.id, createdAt: environment.createdAt)], db)
        }
    }

    public func environment(id: String) async throws -> Environment? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM environments WHERE id = ?", [id]).map { try Self.decode(Environment.self, $0) }
        }
    }

    public func updateEnvironment(id: String, _ change: @Sendable (Environment) throws -> Environment) async throws -> Environment {
        try await write { db in
            guard let body = try await db.scalar(String.self, "SELECT body FROM environments WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("environment", id)
            }
            let current = try Self.decode(Environment.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE environments SET archived_at = ?, body = ? WHERE id = ?", [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            let type = current.archivedAt == nil && next.archivedAt != nil ? "environment.archived" : "environment.updated"
            try await Self.enqueue([OutboxEvent(type: type, resourceID: id, createdAt: next.updatedAt)], db)
            return next
        }
    }

    public func listEnvironments(includeArchived: Bool, page: PageRequest) async throws -> Page<Environment> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try await query.page(
                db, from: "environments", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Environment.self, $0["body"]) },
                position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteEnvironment(id: String) async throws {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM environments WHERE id = ? FOR UPDATE", [id]) != nil else {
                throw APIError.notFound("environment", id)
            }
            let sessions = try await db.scalar(Int.self, "SELECT count(*) FROM sessions WHERE environment_id = ?", [id]) ?? 0
            if sessions > 0 {
                throw APIError.conflict(
                    "environment '\(id)' is used by \(sessions) session(s); delete those sessions first, or archive the environment instead")
            }
            try await db.execute("DELETE FROM environments WHERE id = ?", [id])
            try await db.execute("DELETE FROM environment_keys WHERE environment_id = ?", [id])
            try await db.execute("DELETE FROM work_items WHERE environment_id = ?", [id])
            try await Self.enqueue([OutboxEvent(type: "environment.deleted", resourceID: id)], db)
        }
    }
}
