/// The names MCP tools have for the model: `mcp__<server>__<tool>`, with characters a tool
/// name may not hold (`[A-Za-z0-9_-]`, at most 128) replaced by `_`. Built-in tools never
/// contain `__`, and custom tools are told apart by their toolset, so the names cannot collide
/// with them. Events keep the server's own names (`mcp_server_name`, `name`).
public enum MCPToolNaming {
    public static func modelName(server: String, tool: String) -> String {
        String(("mcp__" + sanitize(server) + "__" + sanitize(tool)).prefix(128))
    }

    static func sanitize(_ text: String) -> String {
        String(text.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                ? Character(scalar) : "_"
        })
    }
}
