import ReverieCore
import ReverieModels

/// `web_fetch` / `web_search` in a deployment without web access: every call fails with a
/// clear message, so the model stops trying and works with what it has.
public struct WebUnavailableTool: SandboxTool {
    public let name: BuiltinToolName

    /// - Parameter name: `.webFetch` or `.webSearch`.
    public init(_ name: BuiltinToolName) {
        self.name = name
    }

    public var definition: ToolDefinition {
        switch name {
        case .webSearch:
            ToolDefinition(
                name: name.rawValue,
                description: "Search the web. Not available in this deployment: calls return an error.",
                inputSchema: [
                    "type": "object",
                    "properties": ["query": ["type": "string", "description": "The search query."]],
                    "required": ["query"],
                ])
        default:
            ToolDefinition(
                name: name.rawValue,
                description: "Fetch a web page by URL. Not available in this deployment: calls return an error.",
                inputSchema: [
                    "type": "object",
                    "properties": ["url": ["type": "string", "description": "The URL to fetch."]],
                    "required": ["url"],
                ])
        }
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        .error("""
            \(name.rawValue) is not available in this deployment: this Reverie server has no web access configured. \
            Do not retry; continue with the files and tools you have, or ask the user for the information.
            """)
    }
}
