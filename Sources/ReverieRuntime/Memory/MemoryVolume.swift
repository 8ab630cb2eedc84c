import Foundation
import ReverieCore
import ReverieExecution

/// A memory store mounted into a session's sandbox at `/mnt/memory/<slug>`. Files are the
/// store's memories (`notes/a.md` is the memory at `/notes/a.md`): reads are recorded as
/// memory usage, writes and deletes become memory versions attributed to the session, and a
/// `read_only` mount refuses them with a tool error the model can act on.
public struct MemoryVolume: SandboxVolume {
    public let mountPoint: String
    public let isReadOnly: Bool
    public let storeID: String
    public let sessionID: String
    let memory: MemoryService

    public init(memory: MemoryService, mount: MemoryStoreMount, sessionID: String) {
        self.memory = memory
        self.storeID = mount.memoryStoreID
        self.sessionID = sessionID
        self.isReadOnly = mount.access == .readOnly
        var path = mount.mountPath ?? Sandbox.memoryRoot + "/" + mount.memoryStoreID
        while path.hasSuffix("/") { path.removeLast() }
        self.mountPoint = path
    }

    /// The volumes of every memory store mounted into a session.
    public static func volumes(for session: Session, memory: MemoryService) -> [any SandboxVolume] {
        session.memoryMounts.map { MemoryVolume(memory: memory, mount: $0, sessionID: session.id) }
    }

    public var hostRoot: URL? { nil }

    public func read(_ relativePath: String) async throws(SandboxError) -> String {
        guard !relativePath.isEmpty else { throw SandboxError("\(mountPoint): is a directory") }
        let file = try await access(relativePath) { try await memory.readMemory(storeID: storeID, path: "/" + relativePath) }
        guard let file else {
            if try await !files(under: relativePath).isEmpty { throw SandboxError("\(display(relativePath)): is a directory") }
            throw SandboxError("\(display(relativePath)): no such file")
        }
        // Usage is best effort: a failed record must not fail the agent's read.
        try? await memory.recordMemoryReads(
            sessionID: sessionID, [MemoryRead(storeID: storeID, memoryID: file.memoryID, versionID: file.versionID)])
        return file.content
    }

    public func write(_ relativePath: String, content: String) async throws(SandboxError) {
        try refuseIfReadOnly(relativePath)
        guard !relativePath.isEmpty else { throw SandboxError("\(mountPoint): is a directory") }
        _ = try await access(relativePath) {
            try await memory.writeMemory(storeID: storeID, path: "/" + relativePath, content: content, actor: .session(sessionID))
        }
    }

    public func delete(_ relativePath: String) async throws(SandboxError) {
        try refuseIfReadOnly(relativePath)
        let deleted = try await access(relativePath) {
            try await memory.deleteMemory(storeID: storeID, path: "/" + relativePath, actor: .session(sessionID))
        }
        if !deleted { throw SandboxError("\(display(relativePath)): no such file") }
    }

    public func fileExists(_ relativePath: String) async -> Bool {
        guard !relativePath.isEmpty else { return false }
        return ((try? await memory.readMemory(storeID: storeID, path: "/" + relativePath)) ?? nil) != nil
    }

    public func files(under relativeFolder: String) async throws(SandboxError) -> [SandboxFile] {
        let prefix = relativeFolder.isEmpty ? "/" : "/" + relativeFolder + "/"
        let memories = try await access(relativeFolder) { try await memory.memoryFiles(storeID: storeID, under: prefix) }
        return memories.map { SandboxFile(path: mountPoint + $0.path, size: $0.content.utf8.count, modified: Date(timeIntervalSince1970: 0)) }
    }

    private func refuseIfReadOnly(_ relativePath: String) throws(SandboxError) {
        if isReadOnly {
            throw SandboxError("\(display(relativePath)): the memory store at \(mountPoint) is mounted read-only; it cannot be changed from this session")
        }
    }

    private func display(_ relativePath: String) -> String {
        relativePath.isEmpty ? mountPoint : mountPoint + "/" + relativePath
    }

    /// Runs a memory call, turning its errors (invalid path, too large, store archived) into
    /// a sandbox error that names the file.
    private func access<T: Sendable>(_ relativePath: String, _ operation: () async throws -> T) async throws(SandboxError) -> T {
        do {
            return try await operation()
        } catch {
            throw SandboxError("\(display(relativePath)): \(ClientMessage.describe(error))")
        }
    }
}
