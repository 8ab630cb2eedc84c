import Foundation

/// Why a sandbox file operation failed, in words the model can act on.
public struct SandboxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A file as listed by a volume.
public struct SandboxFile: Sendable, Equatable {
    /// The path the agent sees (`/workspace/src/a.swift`).
    public var path: String
    public var size: Int
    public var modified: Date

    public init(path: String, size: Int, modified: Date) {
        self.path = path
        self.size = size
        self.modified = modified
    }
}

/// A tree of files mounted somewhere in the agent's view: the session's workspace on disk,
/// its outputs folder, or a memory store. Relative paths are `/`-separated, already
/// normalized by `Sandbox` (no `.`/`..`, no empty segments), and may be empty for the root.
public protocol SandboxVolume: Sendable {
    /// Where the agent sees this volume (`/workspace`, `/mnt/memory/notes`).
    var mountPoint: String { get }
    /// Whether writes and deletes are refused.
    var isReadOnly: Bool { get }
    /// The file's text.
    func read(_ relativePath: String) async throws(SandboxError) -> String
    /// Creates or replaces the file (creating folders as needed).
    func write(_ relativePath: String, content: String) async throws(SandboxError)
    /// Deletes the file.
    func delete(_ relativePath: String) async throws(SandboxError)
    /// Whether a file exists at the path.
    func fileExists(_ relativePath: String) async -> Bool
    /// Every file under a folder (recursively); `relativeFolder` empty means the whole volume.
    func files(under relativeFolder: String) async throws(SandboxError) -> [SandboxFile]
    /// The host folder backing this volume, when it is on disk (bash runs there).
    var hostRoot: URL? { get }
}
