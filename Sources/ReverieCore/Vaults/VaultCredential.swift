import Foundation

/// A Managed Agents `vault_credential`, shaped like the SDK's `BetaManagedAgentsCredential`.
/// It holds no secret: those are `CredentialSecrets`, stored sealed apart from this value.
public struct VaultCredential: Codable, Sendable, Equatable {
    public var id: String
    public var vaultID: String
    public var displayName: String?
    public var metadata: [String: String]
    public var auth: CredentialAuth
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?

    public init(
        id: String, vaultID: String, displayName: String?, metadata: [String: String], auth: CredentialAuth, createdAt: Date, updatedAt: Date,
        archivedAt: Date? = nil
    ) {
        self.id = id
        self.vaultID = vaultID
        self.displayName = displayName
        self.metadata = metadata
        self.auth = auth
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, metadata, auth
        case vaultID = "vault_id"
        case displayName = "display_name"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        vaultID = try container.decode(String.self, forKey: .vaultID)
        displayName = try container.decodeIfPresent(String.self, forKey: .displayName)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        do {
            auth = try CredentialAuth(stored: try container.decode(JSONValue.self, forKey: .auth))
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .auth, in: container, debugDescription: "\(error)")
        }
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("vault_credential", forKey: .type)
        try container.encode(vaultID, forKey: .vaultID)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(auth.json, forKey: .auth)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }

    /// What makes two live credentials of one vault clash: one per MCP server URL, one per
    /// environment variable name (so a session's credential for a server is never ambiguous).
    public var slot: String {
        switch auth {
        case .staticBearer(let url): "mcp:" + url
        case .mcpOAuth(let oauth): "mcp:" + oauth.mcpServerURL
        case .environmentVariable(let variable): "env:" + variable.secretName
        }
    }

    public static let maxDisplayNameLength = 255
    /// The most live credentials one vault holds.
    public static let maxPerVault = 100
}

extension VaultCredential {
    /// The conflict message when `credential` takes a slot a live credential `existing` holds.
    public static func clashMessage(_ credential: VaultCredential, existing: String) -> String {
        switch credential.auth {
        case .environmentVariable(let variable):
            "vault '\(credential.vaultID)' already has a live credential ('\(existing)') for the environment variable '\(variable.secretName)'; archive or delete it first"
        default:
            "vault '\(credential.vaultID)' already has a live credential ('\(existing)') for the MCP server '\(credential.auth.mcpServerURL ?? "")'; archive or delete it first"
        }
    }
}
