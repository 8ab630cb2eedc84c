import Foundation
import ReverieCore
import ReverieModels

/// `edit`: replaces `old_string` with `new_string` in a file; `old_string` must occur exactly
/// once unless `replace_all` is set.
public struct EditTool: SandboxTool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: BuiltinToolName.edit.rawValue,
            description: """
                Replace text in an existing file. old_string must match the file exactly (including \
                indentation and line breaks; do not include the line numbers the read tool shows) and \
                must occur exactly once, unless replace_all is true, which replaces every occurrence. \
                Include enough surrounding lines to make old_string unique. Relative paths start in /workspace.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "file_path": ["type": "string", "description": "Path of the file to edit."],
                    "old_string": ["type": "string", "description": "Text to find; it must occur exactly once unless replace_all is true."],
                    "new_string": ["type": "string", "description": "Replacement text."],
                    "replace_all": ["type": "boolean", "description": "Replace every occurrence of old_string. Default false."],
                ],
                "required": ["file_path", "old_string", "new_string"],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "edit")
            let location = try sandbox.resolve(try input.string("file_path"))
            let old = try input.string("old_string")
            let new = try input.string("new_string")
            let replaceAll = try input.optionalBool("replace_all") ?? false
            guard !old.isEmpty else { throw SandboxError("edit: old_string is empty; to create or replace a whole file use the write tool") }
            guard old != new else { throw SandboxError("edit: old_string and new_string are identical; nothing to change") }
            guard await location.volume.fileExists(location.relativePath) else {
                throw SandboxError("\(location.path): no such file; to create a file use the write tool")
            }
            let text = try await location.volume.read(location.relativePath)
            // Match exact Unicode scalars, so that "\n" also matches inside "\r\n" and nothing is
            // matched by canonical equivalence.
            let matches = text.unicodeScalars.ranges(of: old.unicodeScalars)
            if matches.isEmpty {
                throw SandboxError("edit: old_string was not found in \(location.path). " + Self.hint(old: old, text: text))
            }
            if matches.count > 1 && !replaceAll {
                let lines = matches.prefix(10).map { String(Self.lineNumber(of: $0.lowerBound, in: text)) }.joined(separator: ", ")
                throw SandboxError("""
                    edit: old_string occurs \(matches.count) times in \(location.path) (at lines \(lines)\(matches.count > 10 ? ", …" : "")). \
                    Include more surrounding context to make it unique, or set replace_all to true to replace every occurrence.
                    """)
            }
            var edited = String.UnicodeScalarView()
            var cursor = text.unicodeScalars.startIndex
            for match in matches {
                edited.append(contentsOf: text.unicodeScalars[cursor..<match.lowerBound])
                edited.append(contentsOf: new.unicodeScalars)
                cursor = match.upperBound
            }
            edited.append(contentsOf: text.unicodeScalars[cursor...])
            let result = String(edited)
            try await location.volume.write(location.relativePath, content: result)

            let firstLine = Self.lineNumber(of: matches[0].lowerBound, in: text)
            let newLineCount = new.unicodeScalars.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            let summary = matches.count == 1 ? "Replaced 1 occurrence" : "Replaced all \(matches.count) occurrences"
            return .text("\(summary) in \(location.path). Lines around the first change:\n"
                + Self.snippet(of: result, from: firstLine - 3, to: firstLine + newLineCount + 3))
        }
    }

    /// The 1-based line holding `index`.
    static func lineNumber(of index: String.Index, in text: String) -> Int {
        text.unicodeScalars[..<index].reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
    }

    /// Lines `from...to` (clamped), numbered like `cat -n`.
    static func snippet(of text: String, from: Int, to: Int) -> String {
        let lines = TextLines.split(text)
        let first = max(1, from)
        let last = min(lines.count, to)
        guard first <= last else { return "" }
        return (first...last).map { TextLines.numbered($0, lines[$0 - 1]) }.joined(separator: "\n")
    }

    /// Why an `old_string` may have missed, pointing at the closest place in the file.
    static func hint(old: String, text: String) -> String {
        let trimTrailing = { (line: Substring) in String(line.reversed().drop(while: { $0 == " " || $0 == "\t" || $0 == "\r" }).reversed()) }
        let normalized = { (value: String) in TextLines.split(value).map(trimTrailing).joined(separator: "\n") }
        if normalized(text).contains(normalized(old)) {
            return "It would match if whitespace at line ends were ignored (spaces, tabs, or the \\r of CRLF line ends): "
                + "copy the line ends exactly; read the file to see them."
        }
        let wanted = TextLines.split(old).map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty } ?? ""
        let lines = TextLines.split(text)
        if !wanted.isEmpty, let index = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == wanted }) {
            return "Its first line \"\(clip(wanted[...]))\" is at line \(index + 1) (ignoring indentation): \"\(clip(lines[index]))\". "
                + "Check indentation, whitespace and the lines after it; read the file to copy the text exactly."
        }
        if !wanted.isEmpty, let index = lines.firstIndex(where: { $0.contains(wanted) }) {
            return "Its first line \"\(clip(wanted[...]))\" appears within line \(index + 1): \"\(clip(lines[index]))\". "
                + "Read the file to copy the text exactly."
        }
        return "Not even its first line \"\(clip(wanted[...]))\" appears in the file; it may have changed. Read the file to see its current content."
    }

    private static func clip(_ line: Substring) -> String {
        line.count > 160 ? String(line.prefix(160)) + "…" : String(line)
    }
}
