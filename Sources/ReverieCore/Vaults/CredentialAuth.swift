import Foundation

/// A credential's authentication configuration without its secrets: what responses show and
/// what is stored in the clear. The secrets (`CredentialSecrets`) are stored sealed, apart.
public enum CredentialAuth: Sendable, Equatable {
    /// A bearer token for an MCP server.
    case staticBearer(mcpServerURL: String)
    /// An OAuth access token for an MCP server, optionally refreshable.
    case mcpOAuth(MCPOAuth)
    /// A secret the egress proxy substitutes for a placeholder in outbound requests.
    case environmentVariable(EnvironmentVariable)

    /// `static_bearer`, `mcp_oauth` or `environment_variable`.
    public var type: String {
        switch self {
        case .staticBearer: "static_bearer"
        case .mcpOAuth: "mcp_oauth"
        case .environmentVariable: "environment_variable"
        }
    }

    /// The MCP server the credential is for (nil for `environment_variable`).
    public var mcpServerURL: String? {
        switch self {
        case .staticBearer(let url): url
        case .mcpOAuth(let oauth): oauth.mcpServerURL
        case .environmentVariable: nil
        }
    }

    public struct MCPOAuth: Sendable, Equatable {
        public var mcpServerURL: String
        public var expiresAt: Date?
        public var refresh: OAuthRefresh?

        public init(mcpServerURL: String, expiresAt: Date? = nil, refresh: OAuthRefresh? = nil) {
            self.mcpServerURL = mcpServerURL
            self.expiresAt = expiresAt
            self.refresh = refresh
        }
    }

    /// How to refresh an `mcp_oauth` access token (the refresh token and client secret are secrets).
    public struct OAuthRefresh: Sendable, Equatable {
        /// How the client authenticates to the token endpoint.
        public enum ClientAuthentication: String, Sendable, Equatable {
            case none
            case clientSecretBasic = "client_secret_basic"
            case clientSecretPost = "client_secret_post"
        }

        public var clientID: String
        public var tokenEndpoint: String
        public var clientAuthentication: ClientAuthentication
        public var resource: String?
        public var scope: String?

        public init(clientID: String, tokenEndpoint: String, clientAuthentication: ClientAuthentication, resource: String? = nil, scope: String? = nil) {
            self.clientID = clientID
            self.tokenEndpoint = tokenEndpoint
            self.clientAuthentication = clientAuthentication
            self.resource = resource
            self.scope = scope
        }
    }

    public struct EnvironmentVariable: Sendable, Equatable {
        public var secretName: String
        /// Substitute in request header values.
        public var injectHeader: Bool
        /// Substitute in request bodies.
        public var injectBody: Bool
        /// The hosts the secret may go to; nil when `unrestricted` (the environment's policy decides).
        public var allowedHosts: [String]?

        public init(secretName: String, injectHeader: Bool, injectBody: Bool, allowedHosts: [String]?) {
            self.secretName = secretName
            self.injectHeader = injectHeader
            self.injectBody = injectBody
            self.allowedHosts = allowedHosts
        }
    }
}

extension CredentialAuth {
    /// The response form (the SDK's `BetaManagedAgents…AuthResponse`): never a secret.
    public var json: JSONValue {
        switch self {
        case .staticBearer(let url):
            return ["type": "static_bearer", "mcp_server_url": .string(url)]
        case .mcpOAuth(let oauth):
            var object: [String: JSONValue] = ["type": "mcp_oauth", "mcp_server_url": .string(oauth.mcpServerURL)]
            object["expires_at"] = oauth.expiresAt.map { .string(Timestamp.format($0)) } ?? .null
            if let refresh = oauth.refresh {
                object["refresh"] = [
                    "client_id": .string(refresh.clientID), "token_endpoint": .string(refresh.tokenEndpoint),
                    "token_endpoint_auth": ["type": .string(refresh.clientAuthentication.rawValue)],
                    "resource": refresh.resource.map(JSONValue.string) ?? .null, "scope": refresh.scope.map(JSONValue.string) ?? .null,
                ]
            } else {
                object["refresh"] = .null
            }
            return .object(object)
        case .environmentVariable(let variable):
            let networking: JSONValue =
                if let hosts = variable.allowedHosts { ["type": "limited", "allowed_hosts": .array(hosts.map(JSONValue.string))] } else {
                    ["type": "unrestricted"]
                }
            return [
                "type": "environment_variable", "secret_name": .string(variable.secretName),
                "injection_location": ["header": .bool(variable.injectHeader), "body": .bool(variable.injectBody)], "networking": networking,
            ]
        }
    }

    /// Reads the stored (response) form back.
    public init(stored value: JSONValue) throws(APIError) {
        let reader = try ObjectReader(value, at: FieldPath("auth"))
        switch try reader.discriminator() {
        case "static_bearer":
            self = .staticBearer(mcpServerURL: try reader.requiredString("mcp_server_url"))
        case "mcp_oauth":
            var refresh: OAuthRefresh?
            if let object = try reader.object("refresh") {
                let authType = try object.requiredObject("token_endpoint_auth").discriminator()
                guard let clientAuthentication = OAuthRefresh.ClientAuthentication(rawValue: authType) else {
                    throw APIError.internalError("stored credential: unknown token_endpoint_auth '\(authType)'")
                }
                refresh = OAuthRefresh(
                    clientID: try object.requiredString("client_id"), tokenEndpoint: try object.requiredString("token_endpoint"),
                    clientAuthentication: clientAuthentication, resource: try object.string("resource"), scope: try object.string("scope"))
            }
            self = .mcpOAuth(
                MCPOAuth(
                    mcpServerURL: try reader.requiredString("mcp_server_url"), expiresAt: try reader.string("expires_at").flatMap(Timestamp.parse),
                    refresh: refresh))
        case "environment_variable":
            let injection = try reader.requiredObject("injection_location")
            let networking = try reader.requiredObject("networking")
            self = .environmentVariable(
                EnvironmentVariable(
                    secretName: try reader.requiredString("secret_name"), injectHeader: try injection.bool("header") ?? false,
                    injectBody: try injection.bool("body") ?? false,
                    allowedHosts: try networking.discriminator() == "limited" ? try networking.stringArray("allowed_hosts") ?? [] : nil))
        case let other:
            throw APIError.internalError("stored credential: unknown auth type '\(other)'")
        }
    }
}

/// A credential's secret values: write-only, stored only sealed (`SecretSealer`), opened only to
/// authenticate a session's outbound calls. Never encoded into a response, event or log.
public struct CredentialSecrets: Codable, Sendable, Equatable {
    /// `static_bearer`'s token.
    public var token: String?
    /// `mcp_oauth`'s access token.
    public var accessToken: String?
    /// `mcp_oauth`'s refresh token.
    public var refreshToken: String?
    /// `mcp_oauth`'s client secret for the token endpoint.
    public var clientSecret: String?
    /// `environment_variable`'s value.
    public var secretValue: String?

    public init(token: String? = nil, accessToken: String? = nil, refreshToken: String? = nil, clientSecret: String? = nil, secretValue: String? = nil) {
        self.token = token
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.clientSecret = clientSecret
        self.secretValue = secretValue
    }

    enum CodingKeys: String, CodingKey {
        case token
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case clientSecret = "client_secret"
        case secretValue = "secret_value"
    }

    /// Every secret value held (to check that none leaks anywhere).
    public var values: [String] { [token, accessToken, refreshToken, clientSecret, secretValue].compactMap { $0 } }
}
