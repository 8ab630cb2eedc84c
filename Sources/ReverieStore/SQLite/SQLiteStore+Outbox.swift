import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func pendingOutboxEvents(limit: Int) async throws -> [OutboxEvent] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?", arguments: [limit]
            ).map(Self.outboxEvent)
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

    /// Reads an outbox row (`id, type, resource_id, created_at, attributes`).
    static func outboxEvent(_ row: Row) throws -> OutboxEvent {
        let attributes: [String: String] =
            if let text = row["attributes"] as String? { try decode([String: String].self, text) } else { [:] }
        return OutboxEvent(
            id: row["id"], type: row["type"], resourceID: row["resource_id"], createdAt: Timestamp.fromMicros(row["created_at"]),
            attributes: attributes)
    }
}
