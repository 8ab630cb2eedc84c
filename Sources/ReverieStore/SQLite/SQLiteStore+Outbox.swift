import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func pendingOutboxEvents(limit: Int) async throws -> [OutboxEvent] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?", arguments: [limit]
            ).map { row in
                OutboxEvent(id: row["id"], type: row["type"], resourceID: row["resource_id"], createdAt: Timestamp.fromMicros(row["created_at"]))
            }
        }
    }

    public func markOutboxEventsDispatched(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await write { db in
            let now = Timestamp.micros(Date())
            for id in ids {
                try db.execute(sql: "UPDATE outbox SET dispatched_at = ? WHERE id = ?", arguments: [now, id])
            }
        }
    }
}
