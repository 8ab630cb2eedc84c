import Foundation

/// A Managed Agents `vault`: a named set of credentials sessions may use (`vault_ids`).
public struct Vault: Codable, Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var metadata: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?

    public init(id: String, displayName: String, metadata: [String: String], createdAt: Date, updatedAt: Date, archivedAt: Date? = nil) {
        self.id = id
        self.displayName = displayName
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, metadata
        case displayName = "display_name"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        displayName = try container.decode(String.self, forKey: .displayName)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("vault", forKey: .type)
        try container.encode(displayName, forKey: .displayName)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }

    public static let maxDisplayNameLength = 255
}

/// A parsed vault create or update body.
public struct VaultRequest: Sendable {
    public var displayName: String?
    /// The metadata (create) or metadata patch (update) as sent.
    public var metadata: JSONValue?

    public init(_ reader: ObjectReader, creating: Bool) throws(APIError) {
        try reader.rejectUnknown(["display_name", "metadata"])
        displayName = try reader.string("display_name")
        if let displayName {
            try Rules.length(displayName, reader.field("display_name"), min: 1, max: Vault.maxDisplayNameLength)
            try Rules.noControlCharacters(displayName, reader.field("display_name"))
        } else if creating {
            throw APIError.invalidRequest("display_name: required")
        }
        metadata = reader.members["metadata"]
    }

    /// A new vault from a create request.
    public func makeVault(id: String, now: Date) throws(APIError) -> Vault {
        Vault(
            id: id, displayName: displayName ?? "", metadata: try Metadata.parse(metadata, at: FieldPath("metadata")), createdAt: now,
            updatedAt: now)
    }

    /// `current` with this update applied.
    public func applied(to current: Vault, now: Date) throws(APIError) -> Vault {
        var next = current
        if let displayName { next.displayName = displayName }
        next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"))
        if next != current { next.updatedAt = now }
        return next
    }
}
