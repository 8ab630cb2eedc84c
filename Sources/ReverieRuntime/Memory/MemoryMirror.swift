#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels

/// A session's memory stores as real folders, so every tool — bash included — sees them at
/// `/mnt/memory/<slug>`: before each tool call the stores' current memories are written into
/// the session's `memory/<slug>` folders, and after it whatever the call changed in a
/// `read_write` mount becomes memory versions by the session (created, updated, deleted),
/// each applied only if the memory still has the content the agent started from.
///
/// A change that conflicts with a concurrent one (the API or another session changed the
/// memory meanwhile), or that the store refuses (too large, not text, a path it does not
/// allow), is not applied: the agent's file is moved to `/workspace/.memory-conflicts/` and
/// the tool result says so, so neither version is lost.
public actor MemoryMirror: SandboxResource {
    public static let key = "memory-mirror"

    /// One memory store mounted in the session: at `mountPoint` in the sandbox, held in `folder`.
    public struct Mount: Sendable {
        public var storeID: String
        public var mountPoint: String
        public var folder: URL
        public var readOnly: Bool
    }

    /// What a mount held after the last sync, by memory path.
    private struct Known {
        var sha256: String
        var memoryID: String
        var versionID: String
    }

    let memory: any MemorySyncSource
    let sessionID: String
    let mounts: [Mount]
    let workspace: URL
    /// The host user the session's files belong to (isolated sandboxes of a root server).
    let owner: UInt32?
    let logger: Logger
    private var known: [String: [String: Known]] = [:]
    /// Syncs run one at a time (threads of a session call tools concurrently; each sync
    /// awaits the store, and an interleaved one would work from stale state).
    private var syncing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func beginSync() async {
        if !syncing {
            syncing = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func endSync() {
        if waiting.isEmpty {
            syncing = false
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Mirrors `mounts` of `sessionID` with `memory`; the folders are given to `owner` (the
    /// host user of an isolated sandbox run by root) when set.
    public init(memory: any MemorySyncSource, sessionID: String, mounts: [Mount], workspace: URL, owner: UInt32?, logger: Logger) {
        self.memory = memory
        self.sessionID = sessionID
        self.mounts = mounts
        self.workspace = workspace
        self.owner = owner
        self.logger = logger
    }

    /// The session's memory mounts and the folders that hold them.
    static func mounts(for session: Session, sessionFolder: URL) -> [Mount] {
        mounts(session.memoryMounts, sessionFolder: sessionFolder)
    }

    /// The mounts of `resources` (a session's `memory_store` resources) and the folders under
    /// `sessionFolder` that hold them.
    public static func mounts(_ resources: [MemoryStoreMount], sessionFolder: URL) -> [Mount] {
        resources.map { mount in
            var point = mount.mountPath ?? Sandbox.memoryRoot + "/" + mount.memoryStoreID
            while point.hasSuffix("/") { point.removeLast() }
            let slug = String(point.dropFirst(Sandbox.memoryRoot.count + 1))
            return Mount(
                storeID: mount.memoryStoreID, mountPoint: point,
                folder: sessionFolder.appendingPathComponent("memory").appendingPathComponent(slug.isEmpty ? mount.memoryStoreID : slug),
                readOnly: mount.access == .readOnly)
        }
    }

    /// The sandbox volumes of the mounts (folders on disk; read-only ones refuse writes).
    static func volumes(for session: Session, sessionFolder: URL) throws -> [any SandboxVolume] {
        try volumes(of: mounts(for: session, sessionFolder: sessionFolder))
    }

    /// The sandbox volumes of `mounts` (folders on disk; read-only ones refuse writes).
    public static func volumes(of mounts: [Mount]) throws -> [any SandboxVolume] {
        try mounts.map { try DiskVolume(mountPoint: $0.mountPoint, root: $0.folder, isReadOnly: $0.readOnly) }
    }

    public func close() async {}

    // MARK: before a call

    /// Writes the stores' current memories into the folders.
    func pull() async throws {
        await beginSync()
        defer { endSync() }
        try await pullNow()
    }

    private func pullNow() async throws {
        for mount in mounts {
            let files = try await memory.memoryFiles(storeID: mount.storeID)
            var previous = known[mount.mountPoint] ?? [:]
            var next: [String: Known] = [:]
            for file in files {
                next[file.path] = Known(sha256: file.contentSHA256, memoryID: file.memoryID, versionID: file.versionID)
                let disk = onDisk(mount, file.path)
                if previous[file.path]?.sha256 == file.contentSHA256, disk == file.contentSHA256 { continue }
                // A file the agent changed since the last sync is left for `push` to resolve.
                if let last = previous[file.path], let disk, disk != last.sha256 { next[file.path] = last; continue }
                write(file.content, to: mount, path: file.path)
            }
            for (path, last) in previous where next[path] == nil {
                // Deleted in the store: remove the copy unless the agent changed it.
                if onDisk(mount, path) == last.sha256 { remove(mount, path) }
            }
            previous = next
            known[mount.mountPoint] = previous
        }
    }

    // MARK: after a call

    /// Turns what the call changed into memory versions; returns notes for the agent about
    /// changes that were not applied.
    func push() async -> [String] {
        await beginSync()
        defer { endSync() }
        var notes: [String] = []
        for mount in mounts where !mount.readOnly {
            var state = known[mount.mountPoint] ?? [:]
            let disk = scan(mount)
            for (path, sha) in disk.sorted(by: { $0.key < $1.key }) where state[path]?.sha256 != sha {
                guard let content = read(mount, path) else {
                    notes.append(conflict(mount, path, reason: "it is not UTF-8 text"))
                    continue
                }
                do {
                    let written: MemoryFile
                    if let previous = state[path] {
                        written = try await memory.updateMemory(
                            storeID: mount.storeID, memoryID: previous.memoryID, path: path, content: content, expectedSHA256: previous.sha256)
                    } else {
                        written = try await memory.createMemory(storeID: mount.storeID, path: path, content: content)
                    }
                    state[path] = Known(sha256: written.contentSHA256, memoryID: written.memoryID, versionID: written.versionID)
                } catch {
                    notes.append(conflict(mount, path, reason: ClientMessage.describe(error)))
                }
            }
            for (path, previous) in state where disk[path] == nil {
                do {
                    try await memory.deleteMemory(storeID: mount.storeID, memoryID: previous.memoryID, path: path, expectedSHA256: previous.sha256)
                    state[path] = nil
                } catch {
                    notes.append("\(mount.mountPoint)\(path) was not deleted from the memory store: \(ClientMessage.describe(error))")
                }
            }
            known[mount.mountPoint] = state
        }
        if !notes.isEmpty {
            // Put back what the store holds where a change was set aside.
            try? await pullNow()
        }
        return notes
    }

    /// Records that the agent read `path` (an absolute sandbox path), when it is a memory.
    func recordRead(of path: String) async {
        for mount in mounts where path.hasPrefix(mount.mountPoint + "/") {
            let memoryPath = String(path.dropFirst(mount.mountPoint.count))
            guard let entry = known[mount.mountPoint]?[memoryPath] else { return }
            // Usage is best effort: a failed record must not fail the agent's read.
            await memory.recordReads([MemoryRead(storeID: mount.storeID, memoryID: entry.memoryID, versionID: entry.versionID)])
            return
        }
    }

    // MARK: files

    /// Moves the agent's version of a change that was not applied into the workspace.
    private func conflict(_ mount: Mount, _ path: String, reason: String) -> String {
        let slug = mount.folder.lastPathComponent
        let keptPath = "/.memory-conflicts/\(slug)\(path)"
        let workspaceFolder = ContainedFolder(root: workspace, owner: owner)
        workspaceFolder.remove(String(keptPath.dropFirst()))
        try? folder(mount).move(String(path.dropFirst()), to: workspaceFolder, at: String(keptPath.dropFirst()))
        return "\(mount.mountPoint)\(path) was not saved to the memory store (\(reason)); your version is at \(Sandbox.workspaceMount)\(keptPath), and \(mount.mountPoint)\(path) holds the store's version."
    }

    /// The mount's folder, which the agent can change: nothing there is followed through a link.
    private func folder(_ mount: Mount) -> ContainedFolder {
        ContainedFolder(root: mount.folder, owner: owner)
    }

    private func onDisk(_ mount: Mount, _ path: String) -> String? {
        read(mount, path).map(MemoryPath.sha256)
    }

    private func read(_ mount: Mount, _ path: String) -> String? {
        guard let data = folder(mount).read(String(path.dropFirst())) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    private func write(_ content: String, to mount: Mount, path: String) {
        do {
            try folder(mount).write(Data(content.utf8), to: String(path.dropFirst()))
        } catch {
            logger.error("could not write a memory into the sandbox", metadata: ["session": "\(sessionID)", "path": "\(path)", "error": "\(error)"])
        }
    }

    private func remove(_ mount: Mount, _ path: String) {
        folder(mount).remove(String(path.dropFirst()))
    }

    /// Every regular file in the mount's folder, by memory path, with its content's SHA-256
    /// (files that are not text count with an empty hash, so they are seen as changed). Links
    /// are not followed.
    private func scan(_ mount: Mount) -> [String: String] {
        var files: [String: String] = [:]
        for relative in folder(mount).regularFiles() {
            let path = "/" + relative
            files[path] = read(mount, path).map(MemoryPath.sha256) ?? ""
        }
        return files
    }
}
