import Foundation

/// A session's vault credentials, opened for use: what the MCP client and the egress proxy need,
/// nothing else. Held in memory only while a session's calls are made; never logged or stored.
public struct SessionCredentials: Sendable, Equatable {
    /// A bearer credential for one MCP server.
    public struct MCPServer: Sendable, Equatable {
        public var credentialID: String
        public var vaultID: String
        public var mcpServerURL: String
        /// `static_bearer`'s token or `mcp_oauth`'s access token (nil when none is stored).
        public var bearerToken: String?
        /// `mcp_oauth` only: when the access token expires, and how to refresh it.
        public var expiresAt: Date?
        public var refresh: CredentialAuth.OAuthRefresh?
        public var refreshToken: String?
        public var clientSecret: String?

        public init(
            credentialID: String, vaultID: String, mcpServerURL: String, bearerToken: String?, expiresAt: Date? = nil,
            refresh: CredentialAuth.OAuthRefresh? = nil, refreshToken: String? = nil, clientSecret: String? = nil
        ) {
            self.credentialID = credentialID
            self.vaultID = vaultID
            self.mcpServerURL = mcpServerURL
            self.bearerToken = bearerToken
            self.expiresAt = expiresAt
            self.refresh = refresh
            self.refreshToken = refreshToken
            self.clientSecret = clientSecret
        }
    }

    /// An `environment_variable` secret: the egress proxy substitutes `value` for the
    /// placeholder the sandbox sees, on `allowedHosts` only (nil: any host the environment allows).
    public struct EnvironmentSecret: Sendable, Equatable {
        public var credentialID: String
        public var name: String
        public var value: String
        public var allowedHosts: [String]?
        public var injectHeader: Bool
        public var injectBody: Bool

        public init(credentialID: String, name: String, value: String, allowedHosts: [String]?, injectHeader: Bool, injectBody: Bool) {
            self.credentialID = credentialID
            self.name = name
            self.value = value
            self.allowedHosts = allowedHosts
            self.injectHeader = injectHeader
            self.injectBody = injectBody
        }
    }

    public var mcpServers: [MCPServer]
    public var environmentSecrets: [EnvironmentSecret]

    public init(mcpServers: [MCPServer] = [], environmentSecrets: [EnvironmentSecret] = []) {
        self.mcpServers = mcpServers
        self.environmentSecrets = environmentSecrets
    }

    /// The credential for an MCP server URL (the first vault in `vault_ids` order that has one).
    /// URLs match exactly, or ignoring a trailing `/` and the case of scheme and host.
    public func mcpServer(url: String) -> MCPServer? {
        let wanted = Self.normalized(url)
        return mcpServers.first { Self.normalized($0.mcpServerURL) == wanted }
    }

    static func normalized(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.scheme = components.scheme?.lowercased()
        components.host = components.host?.lowercased()
        var text = components.string ?? url
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
