/// Why an MCP server could not be used: the session records it as the SDK's
/// `mcp_authentication_failed_error` or `mcp_connection_failed_error`.
public enum MCPFailure: Error, Sendable, Equatable {
    /// The server refused the credential (401/403), or no credential for it was found.
    case authentication(String)
    /// The server could not be reached or did not speak MCP.
    case connection(String)

    /// The `session.error`'s `error.type`.
    public var errorType: String {
        switch self {
        case .authentication: "mcp_authentication_failed_error"
        case .connection: "mcp_connection_failed_error"
        }
    }

    public var message: String {
        switch self {
        case .authentication(let message), .connection(let message): message
        }
    }
}
