import Foundation

/// The kind of change a memory version records.
public enum MemoryOperation: String, Codable, Sendable, Equatable, CaseIterable {
    case created, modified, deleted
}

/// A `memory_version`: one immutable entry in a memory's history. Only redaction changes a
/// version after it is written: it clears `path` and the content fields and records who
/// redacted it and when.
public struct MemoryVersion: Codable, Sendable, Equatable {
    public var id: String
    public var storeID: String
    public var memoryID: String
    public var operation: MemoryOperation
    /// The memory's path at the time of this write; nil once redacted.
    public var path: String?
    /// The content as of this version; nil for `deleted`, once redacted, or with `view=basic`.
    public var content: String?
    public var contentSHA256: String?
    public var contentSizeBytes: Int?
    public var createdBy: MemoryActor?
    public var createdAt: Date
    public var redactedAt: Date?
    public var redactedBy: MemoryActor?

    public init(id: String, storeID: String, memoryID: String, operation: MemoryOperation, path: String?, content: String?,
                contentSHA256: String?, contentSizeBytes: Int?, createdBy: MemoryActor?, createdAt: Date, redactedAt: Date? = nil,
                redactedBy: MemoryActor? = nil) {
        self.id = id
        self.storeID = storeID
        self.memoryID = memoryID
        self.operation = operation
        self.path = path
        self.content = content
        self.contentSHA256 = contentSHA256
        self.contentSizeBytes = contentSizeBytes
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.redactedAt = redactedAt
        self.redactedBy = redactedBy
    }

    /// The version recording `memory` as it now is.
    public init(id: String, recording memory: Memory, operation: MemoryOperation, by actor: MemoryActor, at date: Date) {
        let keepsContent = operation != .deleted
        self.init(
            id: id, storeID: memory.storeID, memoryID: memory.id, operation: operation, path: memory.path,
            content: keepsContent ? memory.content : nil, contentSHA256: keepsContent ? memory.contentSHA256 : nil,
            contentSizeBytes: keepsContent ? memory.contentSizeBytes : nil, createdBy: actor, createdAt: date)
    }

    enum CodingKeys: String, CodingKey {
        case id, type, operation, path, content
        case storeID = "memory_store_id"
        case memoryID = "memory_id"
        case contentSHA256 = "content_sha256"
        case contentSizeBytes = "content_size_bytes"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case redactedAt = "redacted_at"
        case redactedBy = "redacted_by"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        storeID = try container.decode(String.self, forKey: .storeID)
        memoryID = try container.decode(String.self, forKey: .memoryID)
        operation = try container.decode(MemoryOperation.self, forKey: .operation)
        path = try container.decodeIfPresent(String.self, forKey: .path)
        content = try container.decodeIfPresent(String.self, forKey: .content)
        contentSHA256 = try container.decodeIfPresent(String.self, forKey: .contentSHA256)
        contentSizeBytes = try container.decodeIfPresent(Int.self, forKey: .contentSizeBytes)
        createdBy = try container.decodeIfPresent(MemoryActor.self, forKey: .createdBy)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        redactedAt = try container.decodeIfPresent(Date.self, forKey: .redactedAt)
        redactedBy = try container.decodeIfPresent(MemoryActor.self, forKey: .redactedBy)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("memory_version", forKey: .type)
        try container.encode(storeID, forKey: .storeID)
        try container.encode(memoryID, forKey: .memoryID)
        try container.encode(operation, forKey: .operation)
        try container.encode(path, forKey: .path)
        try container.encode(content, forKey: .content)
        try container.encode(contentSHA256, forKey: .contentSHA256)
        try container.encode(contentSizeBytes, forKey: .contentSizeBytes)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(redactedAt, forKey: .redactedAt)
        try container.encode(redactedBy, forKey: .redactedBy)
    }

    /// This version as a response with `view` (basic drops the content).
    public func rendered(_ view: MemoryView) -> MemoryVersion {
        var copy = self
        if view == .basic { copy.content = nil }
        return copy
    }
}

/// Filters for listing memory versions.
public struct MemoryVersionFilter: Sendable, Equatable {
    public var memoryID: String?
    public var operation: MemoryOperation?
    /// Only versions written by this actor.
    public var actor: MemoryActor?
    public var createdAt: TimeRange

    public init(memoryID: String? = nil, operation: MemoryOperation? = nil, actor: MemoryActor? = nil, createdAt: TimeRange = .unbounded) {
        self.memoryID = memoryID
        self.operation = operation
        self.actor = actor
        self.createdAt = createdAt
    }
}
