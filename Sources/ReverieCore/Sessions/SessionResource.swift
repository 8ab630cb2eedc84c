/// A resource mounted into a session. Reverie mounts memory stores.
public enum SessionResource: Sendable, Equatable {
    case memoryStore(MemoryStoreMount)
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
    public init(from decoder: any Decoder) throws {
        self = .memoryStore(try MemoryStoreMount(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .memoryStore(let mount): try mount.encode(to: encoder)
        }
    }
}
