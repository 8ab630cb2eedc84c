import ReverieCore
import ReverieModels

/// What a tool call produced: content for the model, and whether it failed.
///
/// Tools never throw: a failure (bad input, missing file, refused path) is an output with
/// `isError` set and a message the model can act on.
public struct ToolOutput: Sendable, Equatable {
    public var content: [ToolResultContent]
    public var isError: Bool

    public init(content: [ToolResultContent], isError: Bool = false) {
        self.content = content
        self.isError = isError
    }

    /// A text result.
    public static func text(_ text: String) -> ToolOutput { ToolOutput(content: [.text(text)]) }

    /// A failure the model sees.
    public static func error(_ message: String) -> ToolOutput { ToolOutput(content: [.text(message)], isError: true) }

    /// The concatenated text of the output.
    public var text: String {
        content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }
}

/// A tool Reverie executes inside a session's sandbox.
public protocol SandboxTool: Sendable {
    /// The name and input schema the model sees.
    var definition: ToolDefinition { get }
    /// Runs one call. `input` is the JSON object the model sent.
    func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput
}
