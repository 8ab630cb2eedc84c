import Foundation

/// Without an isolated sandbox (`--sandbox none`) bash runs on the host, so the virtual mount
/// paths in a command are rewritten to the host folders behind them, and host folder paths in
/// the output are mapped back. Inside an isolated sandbox every folder is where the agent sees
/// it, and nothing is rewritten.
struct BashPaths: Sendable {
    /// Virtual mount point and host folder, for each disk volume bash can see.
    let mappings: [(virtual: String, host: String)]

    init(sandbox: Sandbox) {
        self.mappings = sandbox.volumes.compactMap { volume in
            guard let root = volume.hostRoot?.path, root != volume.mountPoint else { return nil }
            return (volume.mountPoint, root)
        }
    }

    /// Characters that continue a path word: a mount path preceded or followed by one of
    /// these is part of some other path (`/tmp/workspace`, `/workspace2`) and is left alone.
    private static let wordBefore = "(?<![A-Za-z0-9_.~/-])"
    private static let wordAfter = "(?![A-Za-z0-9_.~-])"

    /// The command with `/workspace` and `/mnt/session/outputs` replaced by their host folders.
    func hostCommand(_ command: String) -> String {
        mappings.reduce(command) { text, mapping in
            Self.replace(mapping.virtual, with: mapping.host, in: text)
        }
    }

    /// The output with the host folders replaced by their virtual paths.
    func virtualOutput(_ output: String) -> String {
        mappings.sorted { $0.host.count > $1.host.count }.reduce(output) { text, mapping in
            guard text.contains(mapping.host) else { return text }
            return Self.replace(mapping.host, with: mapping.virtual, in: text)
        }
    }

    private static func replace(_ path: String, with replacement: String, in text: String) -> String {
        let pattern = wordBefore + NSRegularExpression.escapedPattern(for: path) + wordAfter
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return text }
        return regex.stringByReplacingMatches(
            in: text, range: NSRange(location: 0, length: text.utf16.count),
            withTemplate: NSRegularExpression.escapedTemplate(for: replacement))
    }
}
