import Foundation
import ReverieCore
import ReverieModels

/// `glob`: files matching a doublestar pattern, newest first.
public struct GlobTool: SandboxTool {
    /// The most paths one call lists.
    public var maxResults: Int

    public init(maxResults: Int = 500) {
        self.maxResults = max(1, maxResults)
    }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: BuiltinToolName.glob.rawValue,
            description: """
                Find files by name with a glob pattern; returns matching file paths, most recently \
                modified first (at most \(maxResults)). Syntax: ** matches any number of folders, * any \
                characters within a name, ? one character, [abc] / [a-z] / [!x] one character of a set, \
                {a,b} alternatives. Examples: "**/*.py", "src/**/{test,spec}_*.ts", "/mnt/memory/**/*.md". \
                Relative patterns are matched under path (default /workspace); absolute patterns may name \
                /workspace, /mnt/session/outputs or /mnt/memory/<name>. Only files are listed, not folders; \
                .git and .reverie folders are skipped unless the pattern names them.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "pattern": ["type": "string", "description": "Doublestar glob pattern, e.g. **/*.swift."],
                    "path": ["type": "string", "description": "Folder to search under. Defaults to /workspace."],
                ],
                "required": ["pattern"],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "glob")
            let pattern = try input.string("pattern")
            guard !pattern.trimmingCharacters(in: .whitespaces).isEmpty else { throw SandboxError("glob: pattern is empty") }
            let base = try input.optionalString("path") ?? Sandbox.workspaceMount
            // The pattern's leading literal folders narrow where to look.
            let components = pattern.split(separator: "/", omittingEmptySubsequences: true)
            let literal = components.prefix { !GlobPattern.isMagic($0) }
            let rest = components.dropFirst(literal.count).joined(separator: "/")
            let literalPath = literal.joined(separator: "/")
            let root = pattern.hasPrefix("/") ? "/" + literalPath : (literalPath.isEmpty ? base : base + "/" + literalPath)

            let matcher = try GlobPattern(rest)
            let scope = try await sandbox.searchScope(root, keeping: pattern)
            var matches = scope.files.filter { file in
                let relative = scope.relativePath(of: file)
                return rest.isEmpty ? relative.isEmpty : matcher.matches(relative)
            }
            guard !matches.isEmpty else { return .text("No files match \(pattern) under \(scope.root).") }
            matches.sort { $0.modified != $1.modified ? $0.modified > $1.modified : $0.path < $1.path }
            var output = matches.prefix(maxResults).map(\.path).joined(separator: "\n") + "\n"
            if matches.count > maxResults {
                output += "[Showing the \(maxResults) most recently modified of \(matches.count) matching files; narrow the pattern or path to see the rest.]\n"
            }
            return .text(output)
        }
    }
}
