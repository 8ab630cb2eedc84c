import ReverieCore
import ReverieModels

/// `read`: a text file's lines, numbered like `cat -n`, optionally only `view_range`.
public struct ReadTool: SandboxTool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: BuiltinToolName.read.rawValue,
            description: """
                Read a text file. Lines come numbered like `cat -n` (line number, a tab, the line). \
                Relative paths start in /workspace; the session outputs folder (/mnt/session/outputs) \
                and mounted memory stores (/mnt/memory/<name>) can be read too. \
                Pass view_range [start_line, end_line] (1-indexed, inclusive; end_line 0 or -1 means \
                to the end of the file) to read part of a large file. Outputs over 100,000 characters \
                are saved to a file and truncated.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "file_path": ["type": "string", "description": "Path of the file to read."],
                    "view_range": [
                        "type": "array", "items": ["type": "integer"], "minItems": 2, "maxItems": 2,
                        "description": "Optional [start_line, end_line], 1-indexed inclusive; end_line <= 0 reads to the end.",
                    ],
                ],
                "required": ["file_path"],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "read")
            let location = try sandbox.resolve(try input.string("file_path"))
            let range = try input.optionalIntArray("view_range")
            let text = try await location.volume.read(location.relativePath)
            if text.contains("\0") {
                throw SandboxError("\(location.path): looks like a binary file (it contains NUL bytes); inspect it with bash (e.g. `xxd | head`) instead")
            }
            let lines = TextLines.split(text)
            if text.isEmpty || lines.isEmpty { return .text("(\(location.path) is empty)") }

            var first = 1
            var last = lines.count
            if let range {
                guard range.count == 2 else {
                    throw SandboxError("read: view_range must be [start_line, end_line], got \(range.count) number(s)")
                }
                guard range[0] >= 1 else { throw SandboxError("read: view_range start_line must be 1 or more (lines are 1-indexed), got \(range[0])") }
                guard range[0] <= lines.count else {
                    throw SandboxError("read: view_range start_line \(range[0]) is past the end of \(location.path), which has \(lines.count) line(s)")
                }
                first = range[0]
                if range[1] > 0 {
                    guard range[1] >= first else {
                        throw SandboxError("read: view_range end_line \(range[1]) is before start_line \(first)")
                    }
                    last = min(range[1], lines.count)
                }
            }
            var output = ""
            for number in first...last {
                output += TextLines.numbered(number, lines[number - 1]) + "\n"
            }
            if range != nil, first > 1 || last < lines.count {
                output += "(lines \(first)-\(last) of \(lines.count))\n"
            }
            return .text(output)
        }
    }
}
