import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let skillsSchema = """
        CREATE TABLE skills (
            id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            latest_version_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX skills_created ON skills(created_at, id);
        CREATE TABLE skill_versions (
            skill_id TEXT NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            files TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (skill_id, id)
        );
        CREATE INDEX skill_versions_created ON skill_versions(skill_id, created_at, id);
        """

    public func createSkill(_ skill: Skill, version: SkillVersion) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO skills (id, display_name, latest_version_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [skill.id, skill.displayName, skill.latestVersionID, Timestamp.micros(skill.createdAt), Timestamp.micros(skill.updatedAt)])
            try Self.insert(version, db)
        }
    }

    public func addSkillVersion(_ version: SkillVersion) async throws -> Skill? {
        try await write { db in
            guard try Row.fetchOne(db, sql: "SELECT id FROM skills WHERE id = ?", arguments: [version.skillID]) != nil else { return nil }
            try Self.insert(version, db)
            try db.execute(
                sql: "UPDATE skills SET latest_version_id = ?, updated_at = ? WHERE id = ?",
                arguments: [version.id, Timestamp.micros(version.createdAt), version.skillID])
            return try Row.fetchOne(db, sql: "SELECT * FROM skills WHERE id = ?", arguments: [version.skillID]).map(Self.skill)
        }
    }

    public func skill(id: String) async throws -> Skill? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM skills WHERE id = ?", arguments: [id]).map(Self.skill) }
    }

    public func listSkills(page: PageRequest) async throws -> Page<Skill> {
        try await read { db in
            try KeysetQuery(sortColumn: "created_at").page(
                db, from: "skills", select: "*", page: page, decode: Self.skill, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteSkill(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM skill_versions WHERE skill_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM skills WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func skillVersion(skillID: String, id: String) async throws -> SkillVersion? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM skill_versions WHERE skill_id = ? AND id = ?", arguments: [skillID, id]).map(Self.skillVersion)
        }
    }

    public func listSkillVersions(skillID: String, page: PageRequest) async throws -> Page<SkillVersion> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            query.filter("skill_id = ?", [skillID])
            return try query.page(
                db, from: "skill_versions", select: "*", page: page, decode: Self.skillVersion, position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func deleteSkillVersion(skillID: String, id: String) async throws -> Bool {
        try await write { db in
            guard try Row.fetchOne(db, sql: "SELECT id FROM skill_versions WHERE skill_id = ? AND id = ?", arguments: [skillID, id]) != nil else {
                return false
            }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM skill_versions WHERE skill_id = ?", arguments: [skillID]) ?? 0
            guard count > 1 else {
                throw APIError.invalidRequest("version '\(id)' is the only version of skill '\(skillID)'; delete the skill instead")
            }
            try db.execute(sql: "DELETE FROM skill_versions WHERE skill_id = ? AND id = ?", arguments: [skillID, id])
            if let newest = try Row.fetchOne(
                db, sql: "SELECT id, created_at FROM skill_versions WHERE skill_id = ? ORDER BY created_at DESC, id DESC LIMIT 1", arguments: [skillID])
            {
                try db.execute(sql: "UPDATE skills SET latest_version_id = ? WHERE id = ?", arguments: [newest["id"] as String, skillID])
            }
            return true
        }
    }

    private static func insert(_ version: SkillVersion, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO skill_versions (skill_id, id, name, description, files, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [
                version.skillID, version.id, version.name, version.description, try JSONCoding.string(version.files), Timestamp.micros(version.createdAt),
            ])
    }

    static func skill(_ row: Row) throws -> Skill {
        Skill(
            id: row["id"], displayName: row["display_name"], latestVersionID: row["latest_version_id"], createdAt: Timestamp.fromMicros(row["created_at"]),
            updatedAt: Timestamp.fromMicros(row["updated_at"]))
    }

    static func skillVersion(_ row: Row) throws -> SkillVersion {
        SkillVersion(
            id: row["id"], skillID: row["skill_id"], name: row["name"], description: row["description"],
            files: try JSONCoding.decode([SkillVersion.File].self, from: Data((row["files"] as String).utf8)),
            createdAt: Timestamp.fromMicros(row["created_at"]))
    }
}
