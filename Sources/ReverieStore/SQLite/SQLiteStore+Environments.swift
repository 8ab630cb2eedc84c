import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func createEnvironment(_ environment: Environment) async throws {
        let body = try Self.encode(environment)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO environments (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                arguments: [environment.id, Timestamp.micros(environment.createdAt), environment.archivedAt.map(Timestamp.micros), body])
            try Self.enqueue([OutboxEvent(type: "environment.created", resourceID: environment.id, createdAt: environment.createdAt)], db)
        }
    }

    public func environment(id: String) async throws -> Environment? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM environments WHERE id = ?", arguments: [id])
                .map { try Self.decode(Environment.self, $0) }
        }
    }

    public func updateEnvironment(id: String, _ change: @Sendable (Environment) throws -> Environment) async throws -> Environment {
        try await write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM environments WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("environment", id)
            }
            let current = try Self.decode(Environment.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE environments SET archived_at = ?, body = ? WHERE id = ?",
                arguments: [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            let type = current.archivedAt == nil && next.archivedAt != nil ? "environment.archived" : "environment.updated"
            try Self.enqueue([OutboxEvent(type: type, resourceID: id, createdAt: next.updatedAt)], db)
            return next
        }
    }

    public func listEnvironments(includeArchived: Bool, page: PageRequest) async throws -> Page<Environment> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !includeArchived { query.filter("archived_at IS NULL") }
            return try query.page(
                db, from: "environments", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Environment.self, $0["body"]) },
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteEnvironment(id: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM environments WHERE id = ?", arguments: [id]) != nil else {
                throw APIError.notFound("environment", id)
            }
            let sessions = try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions WHERE environment_id = ?", arguments: [id]) ?? 0
            if sessions > 0 {
                throw APIError.conflict(
                    "environment '\(id)' is used by \(sessions) session(s); delete those sessions first, or archive the environment instead")
            }
            try db.execute(sql: "DELETE FROM environments WHERE id = ?", arguments: [id])
            // Its workers' keys and its (necessarily finished) work go with it.
            try db.execute(sql: "DELETE FROM environment_keys WHERE environment_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM work_items WHERE environment_id = ?", arguments: [id])
            try Self.enqueue([OutboxEvent(type: "environment.deleted", resourceID: id)], db)
        }
    }
}
