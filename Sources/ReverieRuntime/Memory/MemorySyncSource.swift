import ReverieCore

/// The memory stores a `MemoryMirror` keeps a session's folders in step with: this server's
/// own memory service (`ServiceMemorySync`), or, on a `reverie worker`, the server's memory
/// API reached with the work item's sessions token. Every change is made as the session.
public protocol MemorySyncSource: Sendable {
    /// Every memory of a store, with its content.
    func memoryFiles(storeID: String) async throws -> [MemoryFile]
    /// Replaces the content of the memory at `path` (`memoryID`), only if it still has the
    /// content `expectedSHA256` (a conflict error otherwise).
    func updateMemory(storeID: String, memoryID: String, path: String, content: String, expectedSHA256: String) async throws -> MemoryFile
    /// Creates a memory at `path` (a conflict error when the path is taken).
    func createMemory(storeID: String, path: String, content: String) async throws -> MemoryFile
    /// Deletes the memory at `path` (`memoryID`), only if it still has the content `expectedSHA256`.
    func deleteMemory(storeID: String, memoryID: String, path: String, expectedSHA256: String) async throws
    /// Records that the session's agent read these memory versions (best effort).
    func recordReads(_ reads: [MemoryRead]) async
}

/// A session's memory stores in this server's own memory service.
public struct ServiceMemorySync: MemorySyncSource {
    let memory: MemoryService
    let sessionID: String

    public init(memory: MemoryService, sessionID: String) {
        self.memory = memory
        self.sessionID = sessionID
    }

    public func memoryFiles(storeID: String) async throws -> [MemoryFile] {
        try await memory.memoryFiles(storeID: storeID)
    }

    public func updateMemory(storeID: String, memoryID: String, path: String, content: String, expectedSHA256: String) async throws -> MemoryFile {
        MemoryFile(try await memory.writeMemory(storeID: storeID, path: path, content: content, actor: .session(sessionID), expectedSHA256: expectedSHA256))
    }

    public func createMemory(storeID: String, path: String, content: String) async throws -> MemoryFile {
        MemoryFile(try await memory.createMemory(storeID: storeID, path: path, content: content, pinned: false, actor: .session(sessionID)))
    }

    public func deleteMemory(storeID: String, memoryID: String, path: String, expectedSHA256: String) async throws {
        try await memory.deleteMemory(storeID: storeID, path: path, actor: .session(sessionID), expectedSHA256: expectedSHA256)
    }

    public func recordReads(_ reads: [MemoryRead]) async {
        try? await memory.recordMemoryReads(sessionID: sessionID, reads)
    }
}
