import Foundation
import ReverieCore
import ReverieStore

/// What an exported store keeps besides its files: `.reverie-memory-store.json` at the root.
public struct MemoryStoreManifest: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var metadata: [String: String]
    /// Paths of the pinned memories.
    public var pinned: [String]

    public init(name: String, description: String, metadata: [String: String], pinned: [String]) {
        self.name = name
        self.description = description
        self.metadata = metadata
        self.pinned = pinned
    }
}

/// Export and import of a whole store as a folder: one file per memory at its path (the
/// content's bytes exactly), plus the manifest. Export → import → export gives identical
/// folders.
extension MemoryService {
    /// The manifest's file name at the root of an exported folder.
    public static let memoryManifestName = ".reverie-memory-store.json"

    /// Writes every memory of a store under `folder` (which must be empty or absent) and the
    /// manifest. Returns the number of memories written.
    @discardableResult
    public func exportMemoryStore(id: String, to folder: String) async throws -> Int {
        let memoryStore = try await self.memoryStore(id: id)
        let memories = try await store.memories(storeID: id, under: "/", includeContent: true)
        if memories.contains(where: { $0.path == "/" + Self.memoryManifestName }) {
            throw APIError.invalidRequest("the store has a memory at '/\(Self.memoryManifestName)', which export reserves for its manifest")
        }
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        if fileManager.fileExists(atPath: folder, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, try fileManager.contentsOfDirectory(atPath: folder).isEmpty else {
                throw APIError.invalidRequest("'\(folder)' exists and is not an empty folder")
            }
        }
        try fileManager.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: folder, isDirectory: true)
        for memory in memories {
            let file = root.appendingPathComponent(String(memory.path.dropFirst()), isDirectory: false)
            try fileManager.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((memory.content ?? "").utf8).write(to: file)
        }
        let manifest = MemoryStoreManifest(
            name: memoryStore.name, description: memoryStore.description, metadata: memoryStore.metadata,
            pinned: memories.filter(\.pinned).map(\.path))
        let encoder = JSONCoding.encoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        try (encoder.encode(manifest) + Data("\n".utf8)).write(to: root.appendingPathComponent(Self.memoryManifestName))
        return memories.count
    }

    /// Loads a folder written by `exportMemoryStore` (or any folder of UTF-8 text files) into
    /// the store `storeID`, or into a new store named `name` (else the manifest's name, else
    /// the folder's name). Every file is checked before anything is written. Returns the store
    /// and the number of memories written.
    public func importMemoryStore(from folder: String, into storeID: String?, name: String?, actor: MemoryActor) async throws
        -> (MemoryStore, Int)
    {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw APIError.invalidRequest("'\(folder)' is not a folder")
        }
        let root = URL(fileURLWithPath: folder, isDirectory: true)
        var manifest: MemoryStoreManifest?
        let manifestURL = root.appendingPathComponent(Self.memoryManifestName)
        if fileManager.fileExists(atPath: manifestURL.path) {
            do {
                manifest = try JSONCoding.decode(MemoryStoreManifest.self, from: Data(contentsOf: manifestURL))
            } catch {
                throw APIError.invalidRequest("\(Self.memoryManifestName): not a valid manifest (\(error))")
            }
        }
        var files: [(path: String, content: String)] = []
        for relative in try fileManager.subpathsOfDirectory(atPath: folder).sorted() where relative != Self.memoryManifestName {
            let url = root.appendingPathComponent(relative)
            let attributes = try fileManager.attributesOfItem(atPath: url.path)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeDirectory { continue }
            guard type == .typeRegular else { throw APIError.invalidRequest("\(relative): not a regular file") }
            let path = "/" + relative
            try MemoryPath.validate(path, field: FieldPath(relative))
            guard let content = String(validating: try Data(contentsOf: url), as: UTF8.self) else {
                throw APIError.invalidRequest("\(relative): not UTF-8 text")
            }
            try MemoryPath.validateContent(content, field: FieldPath(relative))
            files.append((path, content))
        }
        let target: MemoryStore
        if let storeID {
            target = try await memoryStore(id: storeID)
        } else {
            target = try await createMemoryStore(MemoryStoreRequest(
                name: name ?? manifest?.name ?? root.lastPathComponent, description: manifest?.description ?? "", metadata: manifest?.metadata ?? [:]))
        }
        for file in files {
            try await writeMemory(storeID: target.id, path: file.path, content: file.content, actor: actor)
        }
        let imported = Set(files.map(\.path))
        for path in manifest?.pinned ?? [] where imported.contains(path) {
            try await setMemoryPinned(storeID: target.id, path: path, pinned: true, actor: actor)
        }
        return (target, files.count)
    }
}
