/// What a skill's `SKILL.md` says of it: the `name` and `description` of its YAML frontmatter
/// (`---` lines around `key: value` pairs, values optionally quoted).
public struct SkillManifest: Sendable, Equatable {
    public var name: String?
    public var description: String?

    public static let maxNameLength = 64
    public static let maxDescriptionLength = 1024

    public init(markdown: String) {
        var lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if lines.first?.hasPrefix("\u{FEFF}") == true { lines[0] = String(lines[0].dropFirst()) }
        guard lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") else { return }
        for line in lines[1..<end] {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            switch key {
            case "name": name = value
            case "description": description = value
            default: continue
            }
        }
    }

    /// Whether `name` is a kebab-case slug (lowercase letters, digits and single hyphens).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= maxNameLength && !name.hasPrefix("-") && !name.hasSuffix("-") && !name.contains("--")
            && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}
