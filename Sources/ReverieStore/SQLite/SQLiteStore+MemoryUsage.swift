import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func recordMemoryReads(sessionID: String, _ reads: [MemoryRead], at date: Date) async throws {
        guard !reads.isEmpty else { return }
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sessions WHERE id = ?", arguments: [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            let micros = Timestamp.micros(date)
            for read in reads {
                guard try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM memory_versions WHERE id = ? AND memory_id = ? AND store_id = ?",
                    arguments: [read.versionID, read.memoryID, read.storeID]) != nil
                else {
                    throw APIError.notFound("memory version", "\(read.versionID) of memory \(read.memoryID) in store \(read.storeID)")
                }
                try db.execute(
                    sql: """
                        INSERT INTO memory_usage (memory_id, session_id, store_id, read_count, first_read_at, last_read_at)
                        VALUES (?, ?, ?, 1, ?, ?)
                        ON CONFLICT (memory_id, session_id) DO UPDATE SET read_count = read_count + 1,
                        last_read_at = max(last_read_at, excluded.last_read_at)
                        """,
                    arguments: [read.memoryID, sessionID, read.storeID, micros, micros])
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO memory_read_versions (memory_id, session_id, version_id, store_id, first_read_at)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    arguments: [read.memoryID, sessionID, read.versionID, read.storeID, micros])
            }
        }
    }

    public func memoryUsage(storeID: String, memoryID: String, page: PageRequest) async throws -> Page<MemoryUsage> {
        try await read { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            var query = KeysetQuery(sortColumn: "first_read_at", idColumn: "session_id")
            query.filter("store_id = ? AND memory_id = ?", [storeID, memoryID])
            return try query.page(
                db, from: "memory_usage", select: "*", page: page,
                decode: { row in try Self.usage(row, db) },
                position: { ($0["first_read_at"], $0["session_id"]) })
        }
    }

    public func memoryReads(sessionID: String) async throws -> [MemoryRead] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT store_id, memory_id, version_id FROM memory_read_versions WHERE session_id = ? ORDER BY first_read_at, version_id",
                arguments: [sessionID]
            ).map { MemoryRead(storeID: $0["store_id"], memoryID: $0["memory_id"], versionID: $0["version_id"]) }
        }
    }

    private static func usage(_ row: Row, _ db: Database) throws -> MemoryUsage {
        let sessionID: String = row["session_id"]
        let memoryID: String = row["memory_id"]
        let versions = try String.fetchAll(
            db, sql: "SELECT version_id FROM memory_read_versions WHERE memory_id = ? AND session_id = ? ORDER BY first_read_at, version_id",
            arguments: [memoryID, sessionID])
        var status = SessionStatus.idle
        var outcomes: [OutcomeEvaluation] = []
        if let stateText = try String.fetchOne(db, sql: "SELECT state FROM sessions WHERE id = ?", arguments: [sessionID]) {
            let state = try decode(SessionState.self, stateText)
            status = state.status
            outcomes = state.outcomeEvaluations
        }
        var stopReason: JSONValue?
        if let body = try String.fetchOne(
            db,
            sql: "SELECT body FROM events WHERE session_id = ? AND type IN (?, ?) ORDER BY seq DESC LIMIT 1",
            arguments: [sessionID, EventType.sessionStatusIdle.rawValue, EventType.sessionStatusTerminated.rawValue])
        {
            stopReason = try SessionEvent(json: body).fields["stop_reason"]
        }
        return MemoryUsage(
            sessionID: sessionID, memoryID: memoryID, storeID: row["store_id"], versionIDs: versions, readCount: row["read_count"],
            firstReadAt: Timestamp.fromMicros(row["first_read_at"]), lastReadAt: Timestamp.fromMicros(row["last_read_at"]),
            sessionStatus: status, stopReason: stopReason, outcomeEvaluations: outcomes)
    }
}
