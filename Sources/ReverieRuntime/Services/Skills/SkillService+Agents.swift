import Foundation
import ReverieCore
import ReverieExecution
import ReverieStore

extension SkillService {
    /// Where skills are mounted in a session's sandbox: `/mnt/skills/<name>/`.
    public static let mountRoot = "/mnt/skills"

    /// An agent's `skills` checked against the store: each custom skill (and a pinned version)
    /// must exist; Anthropic's skills are refused, naming those unavailable.
    static func check(_ skills: [JSONValue], in store: any SkillStore) async throws {
        var unavailable: [String] = []
        for (index, skill) in skills.enumerated() {
            let id = skill["skill_id"]?.stringValue ?? ""
            if skill["type"] == "anthropic" {
                if !bundledAnthropicSkills.contains(id) { unavailable.append(id) }
                continue
            }
            guard let found = try await store.skill(id: id) else { throw APIError.invalidRequest("skills[\(index)].skill_id: skill '\(id)' not found") }
            let version = skill["version"]?.stringValue ?? "latest"
            if version != "latest", try await store.skillVersion(skillID: found.id, id: version) == nil {
                throw APIError.invalidRequest("skills[\(index)].version: skill '\(id)' has no version '\(version)'")
            }
        }
        if !unavailable.isEmpty {
            throw APIError.invalidRequest(
                "skills: Anthropic skills are not available on this server: \(unavailable.joined(separator: ", ")); upload them as custom skills")
        }
    }

    /// A session's view of its agent's skills: each custom skill pinned to a concrete version,
    /// with that version's `name` and `description` (which the system prompt lists).
    static func resolved(_ skills: [JSONValue], in store: any SkillStore) async throws -> [JSONValue] {
        var resolved: [JSONValue] = []
        for skill in skills where skill["type"] == "custom" {
            guard let id = skill["skill_id"]?.stringValue, let found = try await store.skill(id: id) else {
                throw APIError.invalidRequest("agent: its skill '\(skill["skill_id"]?.stringValue ?? "")' no longer exists")
            }
            let requested = skill["version"]?.stringValue ?? "latest"
            let versionID = requested == "latest" ? found.latestVersionID : requested
            guard let version = try await store.skillVersion(skillID: id, id: versionID) else {
                throw APIError.invalidRequest("agent: skill '\(id)' has no version '\(requested)' any more")
            }
            resolved.append([
                "type": "custom", "skill_id": .string(id), "version": .string(version.id), "name": .string(version.name),
                "description": .string(version.description),
            ])
        }
        return resolved
    }

    /// The read-only volumes showing a session's skills at `/mnt/skills/<name>/`.
    public func volumes(for session: Session) async throws -> [any SandboxVolume] {
        let root = Sandbox.sessionFolder(dataDirectory: files.dataDirectory, sessionID: session.id).appendingPathComponent("skills")
        try? FileManager.default.removeItem(at: root)
        var volumes: [any SandboxVolume] = []
        var seen: Set<String> = []
        for skill in session.agent.skills where skill["type"] == "custom" {
            guard let id = skill["skill_id"]?.stringValue, let versionID = skill["version"]?.stringValue,
                let version = try await store.skillVersion(skillID: id, id: versionID), seen.insert(version.name).inserted
            else { continue }
            let folder = root.appendingPathComponent(version.name)
            for file in version.files {
                let target = folder.appendingPathComponent(file.path)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try files.blobs.place(sha256: file.sha256, at: target)
            }
            volumes.append(try DiskVolume(mountPoint: "\(Self.mountRoot)/\(version.name)", root: folder, isReadOnly: true))
        }
        return volumes
    }
}
