import ReverieCore

/// Composes the system prompt a session's agent runs with: the agent's own prompt, a
/// section naming each mounted memory store, and any `system.message` additions.
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
        parts.append(contentsOf: additions.filter { !$0.isEmpty })
        return parts.isEmpty ? nil : parts.joined(separator: "\n\n")
    }
}
