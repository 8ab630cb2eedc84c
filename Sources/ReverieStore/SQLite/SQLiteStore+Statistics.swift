import GRDB

extension SQLiteStore {
    public func statusCounts() async throws -> StatusCounts {
        try await read { db in
            func grouped(_ sql: String) throws -> [String: Int] {
                var counts: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: sql) {
                    let key: String = row[0]
                    counts[key] = row[1]
                }
                return counts
            }
            var counts = StatusCounts()
            counts.sessions = try grouped("SELECT status, COUNT(*) FROM sessions GROUP BY status")
            counts.dreams = try grouped("SELECT status, COUNT(*) FROM dreams GROUP BY status")
            counts.evaluations = try grouped("SELECT status, COUNT(*) FROM evaluations GROUP BY status")
            counts.webhookDeliveries = try grouped("SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state")
            counts.outboxPending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE dispatched_at IS NULL") ?? 0
            return counts
        }
    }
}
