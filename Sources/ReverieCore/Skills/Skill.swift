import Foundation

/// A custom skill (`client.beta.skills`): a folder with a `SKILL.md` whose frontmatter names
/// and describes it, kept as immutable versions.
public struct Skill: Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var latestVersionID: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, displayName: String, latestVersionID: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.displayName = displayName
        self.latestVersionID = latestVersionID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One version of a skill: its files (content kept by hash, like the Files API's).
public struct SkillVersion: Sendable, Equatable {
    /// A file of the skill, by its path inside the skill's folder (`SKILL.md`, `scripts/run.py`).
    public struct File: Sendable, Equatable, Codable {
        public var path: String
        public var sha256: String
        public var sizeBytes: Int64

        public init(path: String, sha256: String, sizeBytes: Int64) {
            self.path = path
            self.sha256 = sha256
            self.sizeBytes = sizeBytes
        }

        enum CodingKeys: String, CodingKey {
            case path, sha256
            case sizeBytes = "size_bytes"
        }
    }

    /// Digits, increasing with time: addresses the version in paths and pins it in references.
    public var id: String
    public var skillID: String
    /// The kebab-case name from the `SKILL.md` frontmatter: the skill's folder name when mounted.
    public var name: String
    public var description: String
    public var files: [File]
    public var createdAt: Date

    public init(id: String, skillID: String, name: String, description: String, files: [File], createdAt: Date) {
        self.id = id
        self.skillID = skillID
        self.name = name
        self.description = description
        self.files = files
        self.createdAt = createdAt
    }

}

extension Skill: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, type, source
        case displayName = "display_name"
        case latestVersionID = "latest_version_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// As `BetaSkill`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("skill", forKey: .type)
        try container.encode(["type": "custom"], forKey: .source)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(latestVersionID, forKey: .latestVersionID)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(Timestamp.format(updatedAt), forKey: .updatedAt)
    }
}

extension SkillVersion: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, type, name, description
        case skillID = "skill_id"
        case createdAt = "created_at"
    }

    /// As `BetaSkillVersion` (the files are served by the version's download).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("skill_version", forKey: .type)
        try container.encode(skillID, forKey: .skillID)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
    }
}
