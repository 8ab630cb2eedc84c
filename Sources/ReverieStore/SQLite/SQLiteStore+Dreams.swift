import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let dreamsSchema = """
        CREATE TABLE dreams (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            status TEXT NOT NULL,
            memory_store_id TEXT NOT NULL,
            in_place_store_id TEXT,
            body TEXT NOT NULL,
            report TEXT
        );
        CREATE INDEX dreams_created ON dreams(created_at, id);
        CREATE INDEX dreams_unfinished ON dreams(status) WHERE status IN ('pending', 'running');
        CREATE UNIQUE INDEX dreams_one_in_place ON dreams(in_place_store_id)
            WHERE in_place_store_id IS NOT NULL AND status IN ('pending', 'running');
        """

    public func createDream(_ dream: Dream) async throws {
        let body = try Self.encode(dream)
        try await write { db in
            if let target = dream.inPlaceStoreID,
                let other = try String.fetchOne(
                    db, sql: "SELECT id FROM dreams WHERE in_place_store_id = ? AND status IN ('pending', 'running')", arguments: [target])
            {
                throw APIError.conflict("memory store '\(target)' is already being updated in place by dream '\(other)'; wait for it to finish or cancel it")
            }
            try db.execute(
                sql: """
                    INSERT INTO dreams (id, created_at, archived_at, status, memory_store_id, in_place_store_id, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    dream.id, Timestamp.micros(dream.createdAt), dream.archivedAt.map(Timestamp.micros), dream.status.rawValue, dream.memoryStoreID,
                    dream.inPlaceStoreID, body,
                ])
            try Self.enqueue([.dream(type: .created, dreamID: dream.id, at: dream.createdAt)], db)
        }
    }

    public func dream(id: String) async throws -> Dream? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM dreams WHERE id = ?", arguments: [id]).map { try Self.decode(Dream.self, $0) }
        }
    }

    public func updateDream(id: String, _ change: @Sendable (Dream) throws -> Dream) async throws -> Dream {
        try await write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM dreams WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("dream", id)
            }
            let current = try Self.decode(Dream.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE dreams SET archived_at = ?, status = ?, body = ? WHERE id = ?",
                arguments: [next.archivedAt.map(Timestamp.micros), next.status.rawValue, try Self.encode(next), id])
            if next.status != current.status, next.status != .pending {
                try Self.enqueue([.dream(status: next.status, dreamID: id, at: next.updatedAt)], db)
            }
            return next
        }
    }

    public func listDreams(_ filter: DreamFilter, page: PageRequest) async throws -> Page<Dream> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if !filter.statuses.isEmpty {
                let statuses = filter.statuses.map(\.rawValue).sorted()
                query.filter("status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))", statuses)
            }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "dreams", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Dream.self, $0["body"]) },
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func unfinishedDreamIDs() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM dreams WHERE status IN ('pending', 'running') ORDER BY created_at, id")
        }
    }

    public func dreamReport(id: String) async throws -> DreamReport? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT report FROM dreams WHERE id = ?", arguments: [id]).map { try Self.decode(DreamReport.self, $0) }
        }
    }

    public func saveDreamReport(_ report: DreamReport) async throws {
        let body = try Self.encode(report)
        try await write { db in
            try db.execute(sql: "UPDATE dreams SET report = ? WHERE id = ?", arguments: [body, report.dreamID])
            guard db.changesCount == 1 else { throw APIError.notFound("dream", report.dreamID) }
        }
    }
}
