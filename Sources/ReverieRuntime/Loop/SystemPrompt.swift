import ReverieCore

/// Composes the system prompt a session's agent runs with: the agent's own prompt, a
/// section naming each mounted memory store, one listing each skill by name and description
/// only (the agent reads a skill's files when it needs them), and any `system.message` additions.
enum SystemPrompt {
    static func compose(for session: Session, additions: [String]) -> String? {
        var parts: [String] = []
        if let system = session.agent.system, !system.isEmpty { parts.append(system) }
        let mounts = session.memoryMounts
        if !mounts.isEmpty {
            var section = "## Memory\nThese memory stores are mounted as folders; use your file tools on them. They persist across sessions."
            for mount in mounts {
                let path = mount.mountPath ?? "/mnt/memory/\(mount.memoryStoreID)/"
                var line = "\n- \(path) — \(mount.name ?? mount.memoryStoreID) (\(mount.access == .readOnly ? "read-only" : "read-write"))"
                if let description = mount.description, !description.isEmpty { line += ": \(description)" }
                if let instructions = mount.instructions, !instructions.isEmpty { line += "\n  Instructions: \(instructions)" }
                section += line
            }
            parts.append(section)
        }
        let skills = session.agent.skills.filter { $0["type"] == "custom" && $0["name"] != nil }
        if !skills.isEmpty {
            var section = """
                ## Skills
                These skills are folders of instructions and files. When a task matches a skill's description, read its SKILL.md \
                first with your file tools, then the other files it points to as you need them.
                """
            for skill in skills {
                let name = skill["name"]?.stringValue ?? ""
                section += "\n- \(name) (\(SkillService.mountRoot)/\(name)/SKILL.md): \(skill["description"]?.stringValue ?? "")"
            }
            parts.append(section)
        }
        parts.append(contentsOf: additions.filter { !$0.isEmpty })
        return parts.isEmpty ? nil : parts.joined(separator: "\n\n")
    }
}
