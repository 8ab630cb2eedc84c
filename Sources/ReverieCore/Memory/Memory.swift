import Foundation

/// Whether a memory or memory version in a response includes its `content`.
public enum MemoryView: String, Sendable, Equatable {
    case basic, full

    /// Lists with `view=full` return at most this many items per page.
    public static let maxFullPageSize = 20
}

/// A `memory`: a text document at a path inside a memory store.
///
/// `pinned` is a Reverie extension: a pinned memory is never changed or deleted by a
/// dream. It travels as an extra `pinned` member of the memory object (set it with
/// `pinned` in a create or update body, e.g. the SDK's `extra_body={"pinned": True}`).
public struct Memory: Codable, Sendable, Equatable {
    public var id: String
    public var storeID: String
    public var path: String
    /// The content; nil when it was not loaded (`view=basic`).
    public var content: String?
    public var contentSHA256: String
    public var contentSizeBytes: Int
    /// The version holding the current content.
    public var versionID: String
    public var pinned: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, storeID: String, path: String, content: String?, contentSHA256: String, contentSizeBytes: Int,
                versionID: String, pinned: Bool = false, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.storeID = storeID
        self.path = path
        self.content = content
        self.contentSHA256 = contentSHA256
        self.contentSizeBytes = contentSizeBytes
        self.versionID = versionID
        self.pinned = pinned
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, path, content, pinned
        case storeID = "memory_store_id"
        case contentSHA256 = "content_sha256"
        case contentSizeBytes = "content_size_bytes"
        case versionID = "memory_version_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        storeID = try container.decode(String.self, forKey: .storeID)
        path = try container.decode(String.self, forKey: .path)
        content = try container.decodeIfPresent(String.self, forKey: .content)
        contentSHA256 = try container.decode(String.self, forKey: .contentSHA256)
        contentSizeBytes = try container.decode(Int.self, forKey: .contentSizeBytes)
        versionID = try container.decode(String.self, forKey: .versionID)
        pinned = try container.decodeIfPresent(Bool.self, forKey: .pinned) ?? false
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("memory", forKey: .type)
        try container.encode(storeID, forKey: .storeID)
        try container.encode(path, forKey: .path)
        try container.encode(content, forKey: .content)
        try container.encode(contentSHA256, forKey: .contentSHA256)
        try container.encode(contentSizeBytes, forKey: .contentSizeBytes)
        try container.encode(versionID, forKey: .versionID)
        try container.encode(pinned, forKey: .pinned)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }

    /// This memory as a response with `view` (basic drops the content).
    public func rendered(_ view: MemoryView) -> Memory {
        var copy = self
        if view == .basic { copy.content = nil }
        return copy
    }

    /// Refuses a change by `actor` when the memory is pinned and the actor is a dream.
    public func checkChangeable(by actor: MemoryActor) throws(APIError) {
        if pinned, actor.isDream {
            throw APIError.conflict("memory '\(path)' (\(id)) is pinned; dreams never change or delete pinned memories")
        }
    }
}

/// One entry of a memory list: a memory, or a `memory_prefix` standing for the memories
/// below the requested depth.
public enum MemoryListItem: Sendable, Equatable {
    case memory(Memory)
    /// A folder, with a trailing `/`.
    case prefix(String)

    /// The path this entry sorts by.
    public var sortPath: String {
        switch self {
        case .memory(let memory): memory.path
        case .prefix(let path): path
        }
    }
}

extension MemoryListItem: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        if value["type"] == "memory_prefix", let path = value["path"]?.stringValue {
            self = .prefix(path)
        } else {
            self = .memory(try JSONCoding.decode(Memory.self, from: JSONCoding.data(value)))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .memory(let memory): try memory.encode(to: encoder)
        case .prefix(let path): try JSONValue.object(["type": "memory_prefix", "path": .string(path)]).encode(to: encoder)
        }
    }
}

/// Where a memory list page starts: after the item with this sort path.
public struct MemoryListPosition: Sendable, Equatable {
    public var path: String
    /// Whether that item was a `memory_prefix` (so everything under it is skipped too).
    public var isPrefix: Bool

    public init(path: String, isPrefix: Bool) {
        self.path = path
        self.isPrefix = isPrefix
    }

    /// The position after `item`.
    public init(after item: MemoryListItem) {
        switch item {
        case .memory(let memory): self.init(path: memory.path, isPrefix: false)
        case .prefix(let path): self.init(path: path, isPrefix: true)
        }
    }

    /// The page token for this position.
    public var cursor: Cursor { Cursor(direction: .after, position: isPrefix ? 1 : 0, id: path) }

    /// Reads a page token made by `cursor`.
    public init(cursor: Cursor) {
        self.init(path: cursor.id, isPrefix: cursor.position == 1)
    }
}

/// A list request for memories.
public struct MemoryListQuery: Sendable, Equatable {
    /// Only memories under this prefix (ends with `/`); `/` is the whole store.
    public var pathPrefix: String
    /// 0 lists every memory below the prefix; n > 0 lists n levels and rolls deeper ones
    /// into `memory_prefix` items.
    public var depth: Int
    public var view: MemoryView
    public var limit: Int
    public var after: MemoryListPosition?

    public init(pathPrefix: String = "/", depth: Int = 0, view: MemoryView = .basic, limit: Int = 20, after: MemoryListPosition? = nil) {
        self.pathPrefix = pathPrefix
        self.depth = depth
        self.view = view
        self.limit = limit
        self.after = after
    }
}
