import Foundation
import ReverieCore
import ReverieExecution
import ReverieModels

/// Keeps a session's memory folders in step with its memory stores around every tool call
/// (`MemoryMirror`), and records the memories the `read` tool reads.
public struct MemoryMirroringPlane: WrappingExecutionPlane {
    public let base: any ExecutionPlane
    let mirror: MemoryMirror

    public init(base: any ExecutionPlane, mirror: MemoryMirror) {
        self.base = base
        self.mirror = mirror
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        do {
            try await mirror.pull()
        } catch {
            return .error("The memory stores could not be prepared for this call: \(ClientMessage.describe(error))")
        }
        var output = await base.execute(call)
        let notes = await mirror.push()
        if call.name == BuiltinToolName.read.rawValue, !output.isError, let path = call.input["file_path"]?.stringValue {
            await mirror.recordRead(of: Self.absolute(path))
        }
        if !notes.isEmpty {
            output.content.append(.text("\n[Memory] " + notes.joined(separator: "\n[Memory] ")))
            output.isError = true
        }
        return output
    }

    private static func absolute(_ path: String) -> String {
        let absolute = path.hasPrefix("/") ? path : Sandbox.workspaceMount + "/" + path
        return NSString(string: absolute).standardizingPath
    }
}
