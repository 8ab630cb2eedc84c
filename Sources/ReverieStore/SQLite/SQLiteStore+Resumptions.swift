import GRDB

extension SQLiteStore {
    static let resumptionsSchema = """
        CREATE TABLE session_resumptions (
            session_id TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            attempts INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    public func resumptionCount(sessionID: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT attempts FROM session_resumptions WHERE session_id = ?", arguments: [sessionID]) ?? 0
        }
    }

    public func recordResumption(sessionID: String) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO session_resumptions (session_id, attempts) VALUES (?, 1)
                    ON CONFLICT(session_id) DO UPDATE SET attempts = attempts + 1
                    """,
                arguments: [sessionID])
            return try Int.fetchOne(db, sql: "SELECT attempts FROM session_resumptions WHERE session_id = ?", arguments: [sessionID]) ?? 1
        }
    }

    public func clearResumptions(sessionID: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM session_resumptions WHERE session_id = ?", arguments: [sessionID])
        }
    }
}
