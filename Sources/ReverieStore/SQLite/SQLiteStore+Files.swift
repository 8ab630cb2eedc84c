import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let filesSchema = """
        CREATE TABLE files (
            id TEXT PRIMARY KEY,
            filename TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            downloadable INTEGER NOT NULL,
            scope_session_id TEXT,
            source_path TEXT,
            expires_at INTEGER
        );
        CREATE INDEX files_created ON files(created_at, id);
        CREATE INDEX files_scope ON files(scope_session_id, created_at, id) WHERE scope_session_id IS NOT NULL;
        CREATE INDEX files_output ON files(scope_session_id, source_path) WHERE source_path IS NOT NULL;
        CREATE INDEX files_sha ON files(sha256);
        """

    public func createFile(_ file: StoredFile) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO files (id, filename, mime_type, size_bytes, sha256, created_at, downloadable, scope_session_id, source_path, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    file.id, file.filename, file.mimeType, file.sizeBytes, file.sha256, Timestamp.micros(file.createdAt), file.downloadable,
                    file.scopeSessionID, file.sourcePath, file.expiresAt.map(Timestamp.micros),
                ])
        }
    }

    public func file(id: String) async throws -> StoredFile? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id]).map(Self.storedFile) }
    }

    public func listFiles(scopeSessionID: String?, page: PageRequest) async throws -> Page<StoredFile> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if let scopeSessionID { query.filter("scope_session_id = ?", [scopeSessionID]) }
            return try query.page(
                db, from: "files", select: "*", page: page, decode: Self.storedFile, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func files(ids: [String]) async throws -> [StoredFile] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            let marks = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            return try Row.fetchAll(db, sql: "SELECT * FROM files WHERE id IN (\(marks))", arguments: StatementArguments(ids)).map(Self.storedFile)
        }
    }

    public func outputFile(sessionID: String, path: String) async throws -> StoredFile? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM files WHERE scope_session_id = ? AND source_path = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                arguments: [sessionID, path]
            ).map(Self.storedFile)
        }
    }

    public func deleteFile(id: String) async throws -> (file: StoredFile, contentStillUsed: Bool)? {
        try await write { db in
            guard let file = try Row.fetchOne(db, sql: "SELECT * FROM files WHERE id = ?", arguments: [id]).map(Self.storedFile) else { return nil }
            try db.execute(sql: "DELETE FROM files WHERE id = ?", arguments: [id])
            let others = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM files WHERE sha256 = ?", arguments: [file.sha256]) ?? 0
            return (file, others > 0)
        }
    }

    static func storedFile(_ row: Row) throws -> StoredFile {
        StoredFile(
            id: row["id"], filename: row["filename"], mimeType: row["mime_type"], sizeBytes: row["size_bytes"], sha256: row["sha256"],
            createdAt: Timestamp.fromMicros(row["created_at"]), downloadable: row["downloadable"], scopeSessionID: row["scope_session_id"],
            sourcePath: row["source_path"], expiresAt: (row["expires_at"] as Int64?).map(Timestamp.fromMicros))
    }
}
