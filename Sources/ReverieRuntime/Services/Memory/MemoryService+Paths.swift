import Foundation
import ReverieCore
import ReverieStore

/// The current content of a memory, as a mounted file or a dream reads it.
public struct MemoryFile: Sendable, Equatable {
    public var path: String
    public var content: String
    public var memoryID: String
    /// The version holding this content; record it when an agent reads the file.
    public var versionID: String
    public var contentSHA256: String
    public var pinned: Bool

    public init(path: String, content: String, memoryID: String, versionID: String, contentSHA256: String, pinned: Bool) {
        self.path = path
        self.content = content
        self.memoryID = memoryID
        self.versionID = versionID
        self.contentSHA256 = contentSHA256
        self.pinned = pinned
    }

    public init(_ memory: Memory) {
        path = memory.path
        content = memory.content ?? ""
        memoryID = memory.id
        versionID = memory.versionID
        contentSHA256 = memory.contentSHA256
        pinned = memory.pinned
    }
}

/// Path-based access to memories for the session runtime's mount and for dreams. Every
/// write produces a version attributed to `actor`; writes by a `.dream` actor never touch
/// a pinned memory (they fail with a `conflict_error`), and dreams can't pin or unpin.
extension MemoryService {
    /// The memory at `path` in a store, or nil when there is none.
    public func readMemory(storeID: String, path: String) async throws -> MemoryFile? {
        try MemoryPath.validate(path)
        if let memory = try await store.memory(storeID: storeID, path: path) { return MemoryFile(memory) }
        _ = try await memoryStore(id: storeID)
        return nil
    }

    /// Creates the memory at `path` or replaces its content. With `expectedSHA256`, the write
    /// applies only if the memory there still has that content (409 otherwise).
    @discardableResult
    public func writeMemory(storeID: String, path: String, content: String, actor: MemoryActor, expectedSHA256: String? = nil)
        async throws -> Memory
    {
        try MemoryPath.validate(path)
        try MemoryPath.validateContent(content)
        return try await store.putMemory(
            storeID: storeID, path: path, content: content, expectedSHA256: expectedSHA256, actor: actor, at: Timestamp.now())
    }

    /// Creates the memory at `path` with its `pinned` mark (copying a store keeps what a person
    /// pinned); a path already in use is a `memory_path_conflict_error`.
    @discardableResult
    public func createMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor) async throws -> Memory {
        try MemoryPath.validate(path)
        try MemoryPath.validateContent(content)
        return try await store.createMemory(storeID: storeID, path: path, content: content, pinned: pinned, actor: actor, at: Timestamp.now())
    }

    /// Deletes the memory at `path`; false when there was none.
    @discardableResult
    public func deleteMemory(storeID: String, path: String, actor: MemoryActor, expectedSHA256: String? = nil) async throws -> Bool {
        try MemoryPath.validate(path)
        guard let memory = try await store.memory(storeID: storeID, path: path) else {
            _ = try await memoryStore(id: storeID)
            return false
        }
        do {
            _ = try await store.deleteMemory(storeID: storeID, id: memory.id, expectedSHA256: expectedSHA256, actor: actor, at: Timestamp.now())
            return true
        } catch let error as APIError where error.kind == .notFound && error.message.hasPrefix("memory '") {
            return false  // Deleted by someone else in between.
        }
    }

    /// Moves the memory at `path` to `newPath`, keeping its id.
    @discardableResult
    public func moveMemory(storeID: String, from path: String, to newPath: String, actor: MemoryActor) async throws -> Memory {
        try MemoryPath.validate(path)
        try MemoryPath.validate(newPath, field: FieldPath("new_path"))
        guard let memory = try await store.memory(storeID: storeID, path: path) else {
            _ = try await memoryStore(id: storeID)
            throw APIError.notFound("memory at path", path)
        }
        return try await store.updateMemory(storeID: storeID, id: memory.id, MemoryChange(path: newPath), actor: actor, at: Timestamp.now())
    }

    /// Pins or unpins the memory at `path` (a person's choice: refused for dreams). Pinning
    /// writes no version.
    @discardableResult
    public func setMemoryPinned(storeID: String, path: String, pinned: Bool, actor: MemoryActor) async throws -> Memory {
        try MemoryPath.validate(path)
        guard let memory = try await store.memory(storeID: storeID, path: path) else {
            _ = try await memoryStore(id: storeID)
            throw APIError.notFound("memory at path", path)
        }
        return try await store.updateMemory(storeID: storeID, id: memory.id, MemoryChange(pinned: pinned), actor: actor, at: Timestamp.now())
    }

    /// The paths of the memories under `prefix` (ending in `/`), in UTF-8 byte order.
    public func memoryPaths(storeID: String, under prefix: String = "/") async throws -> [String] {
        try MemoryPath.validatePrefix(prefix, field: FieldPath("prefix"))
        return try await store.memories(storeID: storeID, under: prefix, includeContent: false).map(\.path)
    }

    /// Every memory under `prefix` with its content (to materialize a mount, export a store,
    /// or give a dream the whole store).
    public func memoryFiles(storeID: String, under prefix: String = "/") async throws -> [MemoryFile] {
        try MemoryPath.validatePrefix(prefix, field: FieldPath("prefix"))
        return try await store.memories(storeID: storeID, under: prefix, includeContent: true).map(MemoryFile.init)
    }

    /// Records that an agent in `sessionID` read these memory versions (the runtime calls
    /// this when an agent reads a mounted memory file).
    public func recordMemoryReads(sessionID: String, _ reads: [MemoryRead], at date: Date = Timestamp.now()) async throws {
        try await store.recordMemoryReads(sessionID: sessionID, reads, at: date)
    }

    /// The memory versions a session read.
    public func memoryReads(sessionID: String) async throws -> [MemoryRead] {
        try await store.memoryReads(sessionID: sessionID)
    }
}
