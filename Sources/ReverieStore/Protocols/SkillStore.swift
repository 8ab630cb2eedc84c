import ReverieCore

/// Custom skills and their immutable versions.
public protocol SkillStore: Sendable {
    /// A new skill with its first version.
    func createSkill(_ skill: Skill, version: SkillVersion) async throws
    /// A new version of an existing skill (it becomes the latest); nil when the skill is gone.
    func addSkillVersion(_ version: SkillVersion) async throws -> Skill?
    func skill(id: String) async throws -> Skill?
    /// Skills, newest first.
    func listSkills(page: PageRequest) async throws -> Page<Skill>
    /// Deletes a skill and every version of it; false when it did not exist.
    func deleteSkill(id: String) async throws -> Bool
    func skillVersion(skillID: String, id: String) async throws -> SkillVersion?
    /// A skill's versions, newest first.
    func listSkillVersions(skillID: String, page: PageRequest) async throws -> Page<SkillVersion>
    /// Deletes a version that is not the skill's only one (the latest then moves to the newest
    /// left); nil when it did not exist.
    func deleteSkillVersion(skillID: String, id: String) async throws -> Bool
}
