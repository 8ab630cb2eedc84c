import Foundation
import ReverieCore
import ReverieModels

/// `grep`: lines matching a regular expression, as `path:line:text`.
public struct GrepTool: SandboxTool {
    /// The most matching lines one call lists.
    public var maxMatches: Int
    /// Longer matching lines are cut to this many characters.
    public var maxLineLength: Int
    /// Larger files are skipped.
    public var maxFileBytes: Int

    public init(maxMatches: Int = 500, maxLineLength: Int = 500, maxFileBytes: Int = 10 << 20) {
        self.maxMatches = max(1, maxMatches)
        self.maxLineLength = max(20, maxLineLength)
        self.maxFileBytes = maxFileBytes
    }

    public var definition: ToolDefinition {
        ToolDefinition(
            name: BuiltinToolName.grep.rawValue,
            description: """
                Search file contents with a regular expression (ICU / NSRegularExpression syntax; ^ and $ \
                match at line boundaries; prefix (?i) for case-insensitive). Returns matching lines as \
                path:line_number:text, files in path order, at most \(maxMatches) lines (long lines are cut \
                to \(maxLineLength) characters). path may be a folder (searched recursively, default \
                /workspace) or a single file, in /workspace, /mnt/session/outputs or /mnt/memory/<name>. \
                Binary files, files over \(maxFileBytes >> 20) MB, and .git and .reverie folders are skipped.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "pattern": ["type": "string", "description": "Regular expression to search for."],
                    "path": ["type": "string", "description": "Folder or file to search. Defaults to /workspace."],
                ],
                "required": ["pattern"],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "grep")
            let pattern = try input.string("pattern")
            guard !pattern.isEmpty else { throw SandboxError("grep: pattern is empty") }
            let path = try input.optionalString("path") ?? Sandbox.workspaceMount
            let regex: NSRegularExpression
            do {
                regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
            } catch {
                throw SandboxError("grep: \"\(pattern)\" is not a valid regular expression (\(error.localizedDescription))")
            }
            let scope = try await sandbox.searchScope(path, keeping: path)
            var lines: [String] = []
            var searched = 0, binary = 0, large = 0, unreadable = 0
            var truncated = false
            for file in scope.files.sorted(by: { $0.path < $1.path }) {
                if truncated { break }
                if file.size > maxFileBytes {
                    large += 1
                    continue
                }
                guard let location = try? sandbox.resolve(file.path),
                      let text = try? await location.volume.read(location.relativePath)
                else {
                    unreadable += 1
                    continue
                }
                if text.utf8.contains(0) {
                    binary += 1
                    continue
                }
                searched += 1
                for (number, line) in matchingLines(of: regex, in: text) {
                    if lines.count == maxMatches {
                        truncated = true
                        break
                    }
                    lines.append("\(location.path):\(number):\(clip(line))")
                }
            }
            var notes: [String] = []
            if truncated {
                notes.append("[Stopped after \(maxMatches) matching lines; more matches exist. Narrow the pattern or path.]")
            }
            var skipped: [String] = []
            if binary > 0 { skipped.append("\(binary) binary") }
            if large > 0 { skipped.append("\(large) over \(maxFileBytes >> 20) MB") }
            if unreadable > 0 { skipped.append("\(unreadable) unreadable") }
            if !skipped.isEmpty { notes.append("[Skipped files: \(skipped.joined(separator: ", ")).]") }
            if lines.isEmpty {
                return .text((["No matches for \(pattern) in \(searched) file(s) under \(scope.root)."] + notes).joined(separator: "\n"))
            }
            return .text((lines + notes).joined(separator: "\n") + "\n")
        }
    }

    /// Each line holding a match, once, with its 1-based number.
    private func matchingLines(of regex: NSRegularExpression, in text: String) -> [(Int, Substring)] {
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Substring($0) }
        // UTF-16 offset where each line starts (NSRegularExpression reports UTF-16 ranges).
        var starts: [Int] = []
        starts.reserveCapacity(lines.count)
        var offset = 0
        for line in lines {
            starts.append(offset)
            offset += line.utf16.count + 1
        }
        var result: [(Int, Substring)] = []
        var lastLine = -1
        regex.enumerateMatches(in: text, options: [], range: NSRange(location: 0, length: text.utf16.count)) { match, _, stop in
            guard let match else { return }
            // The last line starting at or before the match.
            var low = 0, high = starts.count - 1
            while low < high {
                let middle = (low + high + 1) / 2
                if starts[middle] <= match.range.location { low = middle } else { high = middle - 1 }
            }
            // A file's final newline ends the last line; it does not start an empty one.
            if low == lines.count - 1, lines[low].isEmpty, low > 0 { return }
            if low != lastLine {
                lastLine = low
                result.append((low + 1, lines[low]))
                if result.count > maxMatches { stop.pointee = true }
            }
        }
        return result
    }

    private func clip(_ line: Substring) -> String {
        let line = line.hasSuffix("\r") ? line.dropLast() : line
        return line.count > maxLineLength ? String(line.prefix(maxLineLength)) + "…" : String(line)
    }
}
