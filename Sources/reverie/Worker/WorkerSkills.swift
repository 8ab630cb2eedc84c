import Foundation
import ReverieCore
import ReverieExecution
import ReverieRuntime

/// The skills of a served session's agent, downloaded with the item's sessions token and
/// unpacked under the session's folder, mounted read-only at `/mnt/skills/<name>` as the
/// server mounts them for the tools it runs itself.
struct WorkerSkills {
    let client: WorkQueueClient
    let credential: String

    /// The volumes of `session`'s custom skills, each unpacked afresh into
    /// `sessionFolder/skills/<name>`.
    func volumes(for session: JSONValue, sessionFolder: URL) async throws -> [any SandboxVolume] {
        let root = sessionFolder.appendingPathComponent("skills")
        try? FileManager.default.removeItem(at: root)
        var volumes: [any SandboxVolume] = []
        var seen: Set<String> = []
        for skill in session["agent"]?["skills"]?.arrayValue ?? [] where skill["type"]?.stringValue == "custom" {
            guard let id = skill["skill_id"]?.stringValue, let version = skill["version"]?.stringValue else { continue }
            let base = "/v1/skills/\(Self.escaped(id))/versions/\(Self.escaped(version))"
            let described = try await client.send(.GET, base, credential: credential)
            guard let name = described["name"]?.stringValue, TarReader.isSafe(name), !name.contains("/"), seen.insert(name).inserted else { continue }
            let archive = try await client.download(base + "/content", credential: credential)
            let folder = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for entry in try TarReader.files(in: archive) {
                // The archive holds the skill's folder: `<name>/SKILL.md`, `<name>/scripts/…`.
                guard entry.path.hasPrefix(name + "/") else { continue }
                let target = root.appendingPathComponent(entry.path)
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try entry.content.write(to: target)
            }
            volumes.append(try DiskVolume(mountPoint: "\(SkillService.mountRoot)/\(name)", root: folder, isReadOnly: true))
        }
        return volumes
    }

    private static func escaped(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? component
    }
}
