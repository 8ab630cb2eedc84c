import Foundation

/// A `memory_store`: a named container of memories that sessions mount as a directory.
public struct MemoryStore: Codable, Sendable, Equatable {
    public static let maxNameLength = 255
    public static let maxDescriptionLength = 1024

    public var id: String
    public var name: String
    /// Empty when unset.
    public var description: String
    public var metadata: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?

    public init(id: String, name: String, description: String = "", metadata: [String: String] = [:], createdAt: Date, updatedAt: Date,
                archivedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, name, description, metadata
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("memory_store", forKey: .type)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }

    /// The directory name of this store under `/mnt/memory/` in a session.
    public var slug: String { Self.slug(name) }

    /// A store name as a directory name: lowercased, every run of characters other than ASCII
    /// letters and digits becomes one hyphen, and hyphens at either end are dropped
    /// (`"User Preferences (v2)"` → `user-preferences-v2`). A name with no letters or digits
    /// gives `memory`.
    public static func slug(_ name: String) -> String {
        var result = ""
        var pendingHyphen = false
        for scalar in name.lowercased().unicodeScalars {
            let isAlphanumeric = scalar.isASCII && (("a"..."z").contains(scalar) || ("0"..."9").contains(scalar))
            if isAlphanumeric {
                if pendingHyphen, !result.isEmpty { result.append("-") }
                pendingHyphen = false
                result.unicodeScalars.append(scalar)
            } else {
                pendingHyphen = true
            }
        }
        return result.isEmpty ? "memory" : result
    }
}

/// A parsed memory store create or update body.
public struct MemoryStoreRequest: Sendable {
    public var name: String?
    public var description: Patch<String>
    public var metadata: JSONValue?

    /// A request made in code (dreams create their output stores this way); the rules are
    /// checked when the store is made.
    public init(name: String, description: String, metadata: [String: String]) {
        self.name = name
        self.description = .value(description)
        self.metadata = .object(metadata.mapValues(JSONValue.string))
    }

    public init(_ reader: ObjectReader, creating: Bool) throws(APIError) {
        try reader.rejectUnknown(["name", "description", "metadata"])
        name = try reader.string("name")
        if let name {
            try Rules.length(name, reader.field("name"), min: 1, max: MemoryStore.maxNameLength)
            try Rules.noControlCharacters(name, reader.field("name"))
        } else if creating {
            throw APIError.invalidRequest("name: required")
        }
        description = try reader.stringPatch("description")
        if let text = description.value { try Rules.length(text, reader.field("description"), max: MemoryStore.maxDescriptionLength) }
        metadata = reader.members["metadata"]
    }

    /// A new store from a create request.
    public func makeStore(id: String, now: Date) throws(APIError) -> MemoryStore {
        let name = name ?? ""
        try Rules.length(name, FieldPath("name"), min: 1, max: MemoryStore.maxNameLength)
        try Rules.noControlCharacters(name, FieldPath("name"))
        if let text = description.value { try Rules.length(text, FieldPath("description"), max: MemoryStore.maxDescriptionLength) }
        return MemoryStore(
            id: id, name: name, description: description.value ?? "",
            metadata: try Metadata.parse(metadata, at: FieldPath("metadata")), createdAt: now, updatedAt: now)
    }

    /// `current` with this update applied (`updated_at` moves only when something changed).
    public func applied(to current: MemoryStore, now: Date) throws(APIError) -> MemoryStore {
        var next = current
        if let name { next.name = name }
        if description.isPresent { next.description = description.value ?? "" }
        next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"))
        if next != current { next.updatedAt = now }
        return next
    }
}

/// Filters for listing memory stores.
public struct MemoryStoreFilter: Sendable, Equatable {
    public var includeArchived: Bool
    public var createdAt: TimeRange

    public init(includeArchived: Bool = false, createdAt: TimeRange = .unbounded) {
        self.includeArchived = includeArchived
        self.createdAt = createdAt
    }
}
