import ReverieCore
import ReverieModels

/// `write`: creates or replaces a whole file, creating folders as needed.
public struct WriteTool: SandboxTool {
    public init() {}

    public var definition: ToolDefinition {
        ToolDefinition(
            name: BuiltinToolName.write.rawValue,
            description: """
                Write a file, replacing all of its content (missing folders are created). Relative paths \
                start in /workspace. Put deliverables in /mnt/session/outputs; mounted memory stores \
                (/mnt/memory/<name>) are writable unless read-only. To change part of an existing file, \
                prefer the edit tool.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "file_path": ["type": "string", "description": "Path of the file to write."],
                    "content": ["type": "string", "description": "Full file contents to write."],
                ],
                "required": ["file_path", "content"],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "write")
            let location = try sandbox.resolve(try input.string("file_path"))
            let content = try input.string("content")
            guard !location.relativePath.isEmpty else { throw SandboxError("\(location.path): is a directory") }
            let existed = await location.volume.fileExists(location.relativePath)
            try await location.volume.write(location.relativePath, content: content)
            let lines = TextLines.split(content).count
            return .text("\(existed ? "Replaced" : "Created") \(location.path) (\(lines) line(s), \(content.utf8.count) bytes).")
        }
    }
}
