import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    // MARK: files

    public func createFile(_ file: StoredFile) async throws {
        try await write { db in
            try await db.execute(
                """
                INSERT INTO files (id, filename, mime_type, size_bytes, sha256, created_at, downloadable, scope_session_id, source_path, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    file.id, file.filename, file.mimeType, file.sizeBytes, file.sha256, Timestamp.micros(file.createdAt), file.downloadable,
                    file.scopeSessionID, file.sourcePath, file.expiresAt.map(Timestamp.micros),
                ])
        }
    }

    public func file(id: String) async throws -> StoredFile? {
        try await read { db in try await db.fetchOne("SELECT * FROM files WHERE id = ?", [id]).map(Self.storedFile) }
    }

    public func listFiles(scopeSessionID: String?, page: PageRequest) async throws -> Page<StoredFile> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if let scopeSessionID { query.filter("scope_session_id = ?", [scopeSessionID]) }
            return try await query.page(
                db, from: "files", select: "*", page: page, decode: Self.storedFile, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func files(ids: [String]) async throws -> [StoredFile] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in try await db.fetchAll("SELECT * FROM files WHERE id = ANY(?)", [ids]).map(Self.storedFile) }
    }

    public func outputFile(sessionID: String, path: String) async throws -> StoredFile? {
        try await read { db in
            try await db.fetchOne(
                "SELECT * FROM files WHERE scope_session_id = ? AND source_path = ? ORDER BY created_at DESC, id DESC LIMIT 1", [sessionID, path]
            ).map(Self.storedFile)
        }
    }

    public func deleteFile(id: String) async throws -> (file: StoredFile, contentStillUsed: Bool)? {
        try await write { db in
            guard let file = try await db.fetchOne("SELECT * FROM files WHERE id = ? FOR UPDATE", [id]).map(Self.storedFile) else { return nil }
            try await db.execute("DELETE FROM files WHERE id = ?", [id])
            let others = try await db.scalar(Int.self, "SELECT COUNT(*) FROM files WHERE sha256 = ?", [file.sha256]) ?? 0
            return (file, others > 0)
        }
    }

    static func storedFile(_ row: SQLRow) throws -> StoredFile {
        StoredFile(
            id: try row["id"], filename: try row["filename"], mimeType: try row["mime_type"], sizeBytes: try row["size_bytes"],
            sha256: try row["sha256"], createdAt: Timestamp.fromMicros(try row["created_at"]), downloadable: try row["downloadable"],
            scopeSessionID: try row["scope_session_id"], sourcePath: try row["source_path"],
            expiresAt: (try row["expires_at"] as Int64?).map(Timestamp.fromMicros))
    }

    // MARK: skills

    public func createSkill(_ skill: Skill, version: SkillVersion) async throws {
        try await write { db in
            try await db.execute(
                "INSERT INTO skills (id, display_name, latest_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [skill.id, skill.displayName, skill.latestVersionID, Timestamp.micros(skill.createdAt), Timestamp.micros(skill.updatedAt)])
            try await Self.insert(version, db)
        }
    }

    public func addSkillVersion(_ version: SkillVersion) async throws -> Skill? {
        try await write { db in
            guard try await db.fetchOne("SELECT id FROM skills WHERE id = ? FOR UPDATE", [version.skillID]) != nil else { return nil }
            try await Self.insert(version, db)
            try await db.execute(
                "UPDATE skills SET latest_version_id = ?, updated_at = ? WHERE id = ?", [version.id, Timestamp.micros(version.createdAt), version.skillID])
            return try await db.fetchOne("SELECT * FROM skills WHERE id = ?", [version.skillID]).map(Self.skill)
        }
    }

    public func skill(id: String) async throws -> Skill? {
        try await read { db in try await db.fetchOne("SELECT * FROM skills WHERE id = ?", [id]).map(Self.skill) }
    }

    public func listSkills(page: PageRequest) async throws -> Page<Skill> {
        try await read { db in
            try await PostgresKeysetQuery(sortColumn: "created_at").page(
                db, from: "skills", select: "*", page: page, decode: Self.skill, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteSkill(id: String) async throws -> Bool {
        try await write { db in
            try await db.execute("DELETE FROM skill_versions WHERE skill_id = ?", [id])
            return try await db.execute("DELETE FROM skills WHERE id = ? RETURNING 1", [id]) > 0
        }
    }

    public func skillVersion(skillID: String, id: String) async throws -> SkillVersion? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM skill_versions WHERE skill_id = ? AND id = ?", [skillID, id]).map(Self.skillVersion)
        }
    }

    public func listSkillVersions(skillID: String, page: PageRequest) async throws -> Page<SkillVersion> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            query.filter("skill_id = ?", [skillID])
            return try await query.page(
                db, from: "skill_versions", select: "*", page: page, decode: Self.skillVersion, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteSkillVersion(skillID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try await db.fetchOne("SELECT id FROM skills WHERE id = ? FOR UPDATE", [skillID]) != nil,
                try await db.fetchOne("SELECT id FROM skill_versions WHERE skill_id = ? AND id = ?", [skillID, id]) != nil
            else { return false }
            let count = try await db.scalar(Int.self, "SELECT COUNT(*) FROM skill_versions WHERE skill_id = ?", [skillID]) ?? 0
            guard count > 1 else {
                throw APIError.invalidRequest("version '\(id)' is the only version of skill '\(skillID)'; delete the skill instead")
            }
            try await db.execute("DELETE FROM skill_versions WHERE skill_id = ? AND id = ?", [skillID, id])
            if let newest = try await db.scalar(
                String.self, "SELECT id FROM skill_versions WHERE skill_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", [skillID])
            {
                try await db.execute("UPDATE skills SET latest_version_id = ? WHERE id = ?", [newest, skillID])
            }
            return true
        }
    }

    private static func insert(_ version: SkillVersion, _ db: SQLConnection) async throws {
        try await db.execute(
            "INSERT INTO skill_versions (skill_id, id, name, description, files, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [version.skillID, version.id, version.name, version.description, try JSONCoding.string(version.files), Timestamp.micros(version.createdAt)])
    }

    static func skill(_ row: SQLRow) throws -> Skill {
        Skill(
            id: try row["id"], displayName: try row["display_name"], latestVersionID: try row["latest_version_id"],
            createdAt: Timestamp.fromMicros(try row["created_at"]), updatedAt: Timestamp.fromMicros(try row["updated_at"]))
    }

    static func skillVersion(_ row: SQLRow) throws -> SkillVersion {
        SkillVersion(
            id: try row["id"], skillID: try row["skill_id"], name: try row["name"], description: try row["description"],
            files: try JSONCoding.decode([SkillVersion.File].self, from: Data((try row["files"] as String).utf8)),
            createdAt: Timestamp.fromMicros(try row["created_at"]))
    }
}
