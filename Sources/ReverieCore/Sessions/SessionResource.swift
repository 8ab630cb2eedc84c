import Foundation

/// A resource mounted into a session: a memory store, or a file of the Files API.
public enum SessionResource: Sendable, Equatable {
    case memoryStore(MemoryStoreMount)
    case file(FileMount)
}

/// `{"type": "file", id, file_id, mount_path, created_at, updated_at}`: an uploaded file,
/// mounted read-only at `mount_path` in the session's sandbox.
public struct FileMount: Codable, Sendable, Equatable {
    public static let uploadsRoot = "/mnt/session/uploads"

    public var id: String
    public var fileID: String
    public var mountPath: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, fileID: String, mountPath: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.fileID = fileID
        self.mountPath = mountPath
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type
        case fileID = "file_id"
        case mountPath = "mount_path"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        fileID = try container.decode(String.self, forKey: .fileID)
        mountPath = try container.decode(String.self, forKey: .mountPath)
        createdAt = Timestamp.parse(try container.decode(String.self, forKey: .createdAt)) ?? Date(timeIntervalSince1970: 0)
        updatedAt = Timestamp.parse(try container.decode(String.self, forKey: .updatedAt)) ?? createdAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("file", forKey: .type)
        try container.encode(fileID, forKey: .fileID)
        try container.encode(mountPath, forKey: .mountPath)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(Timestamp.format(updatedAt), forKey: .updatedAt)
    }

    /// A mount path as given (absolute, without `.`/`..` or empty parts), or the default
    /// `/mnt/session/uploads/<file_id>`. The sandbox's own folders are refused: a file is
    /// mounted read-only and must not hide the workspace, outputs or memory.
    public static func mountPath(_ requested: String?, fileID: String, at field: String) throws(APIError) -> String {
        guard let requested else { return "\(uploadsRoot)/\(fileID)" }
        let parts = requested.split(separator: "/", omittingEmptySubsequences: false)
        guard requested.hasPrefix("/"), requested.count <= 1024, parts.count >= 3,
            parts.dropFirst().allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !requested.utf8.contains(0)
        else {
            throw APIError.invalidRequest("\(field): must be an absolute file path such as /mnt/session/uploads/data.csv (no '.', '..' or empty parts, not at the root)")
        }
        for reserved in ["/workspace", "/mnt/session/outputs", "/mnt/memory", "/mnt/skills", "/proc", "/dev", "/sys", "/etc", "/usr", "/bin", "/lib", "/tmp"]
        where requested == reserved || requested.hasPrefix(reserved + "/") {
            throw APIError.invalidRequest("\(field): '\(requested)' is inside \(reserved), which a file cannot be mounted over")
        }
        return requested
    }
}

/// Access to a mounted memory store.
public enum MemoryAccess: String, Codable, Sendable, Equatable {
    case readWrite = "read_write"
    case readOnly = "read_only"
}

/// `{"type": "memory_store", memory_store_id, access, instructions, …}`: a memory store
/// mounted at `/mnt/memory/<name>/` in the session's sandbox.
public struct MemoryStoreMount: Codable, Sendable, Equatable {
    public var memoryStoreID: String
    public var access: MemoryAccess
    public var instructions: String?
    /// The store's name and description when the session was created.
    public var name: String?
    public var description: String?
    public var mountPath: String?

    public init(memoryStoreID: String, access: MemoryAccess, instructions: String?, name: String? = nil, description: String? = nil, mountPath: String? = nil) {
        self.memoryStoreID = memoryStoreID
        self.access = access
        self.instructions = instructions
        self.name = name
        self.description = description
        self.mountPath = mountPath
    }

    enum CodingKeys: String, CodingKey {
        case type, access, instructions, name, description
        case memoryStoreID = "memory_store_id"
        case mountPath = "mount_path"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        memoryStoreID = try container.decode(String.self, forKey: .memoryStoreID)
        access = try container.decodeIfPresent(MemoryAccess.self, forKey: .access) ?? .readWrite
        instructions = try container.decodeIfPresent(String.self, forKey: .instructions)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        mountPath = try container.decodeIfPresent(String.self, forKey: .mountPath)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("memory_store", forKey: .type)
        try container.encode(memoryStoreID, forKey: .memoryStoreID)
        try container.encode(access, forKey: .access)
        try container.encode(instructions, forKey: .instructions)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(mountPath, forKey: .mountPath)
    }
}

extension SessionResource: Codable {
    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: TypeKey.self).decodeIfPresent(String.self, forKey: .type)
        self = type == "file" ? .file(try FileMount(from: decoder)) : .memoryStore(try MemoryStoreMount(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .memoryStore(let mount): try mount.encode(to: encoder)
        case .file(let mount): try mount.encode(to: encoder)
        }
    }
}
