import Foundation
import Synchronization

/// A session's view of files. The agent sees:
/// - `/workspace` — the session's own folder (relative paths start here; bash runs here);
/// - `/mnt/session/outputs` — deliverables the outcome grader reads;
/// - `/mnt/memory/<name>` — each mounted memory store.
///
/// Every path an agent names is normalized and resolved here; a path outside these mounts,
/// or one that escapes a mount through `..` or a symbolic link, is refused.
public final class Sandbox: Sendable {
    public static let workspaceMount = "/workspace"
    public static let outputsMount = "/mnt/session/outputs"
    public static let memoryRoot = "/mnt/memory"

    public let sessionID: String
    public let workspace: DiskVolume
    public let outputs: DiskVolume
    /// Every volume, longest mount point first (so the most specific one matches).
    public let volumes: [any SandboxVolume]
    private let attachments = Mutex(Attachments())

    private struct Attachments {
        var resources: [String: any SandboxResource] = [:]
        var isClosed = false
    }

    /// The folder of a session's files under the data directory.
    public static func sessionFolder(dataDirectory: String, sessionID: String) -> URL {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent("sessions").appendingPathComponent(sessionID)
    }

    /// A session's sandbox over its folder under the data directory (`workspace/`, `outputs/`).
    public convenience init(sessionID: String, folder: URL, extraVolumes: [any SandboxVolume] = []) throws {
        try self.init(
            sessionID: sessionID, workspace: try DiskVolume(mountPoint: Self.workspaceMount, root: folder.appendingPathComponent("workspace")),
            outputs: try DiskVolume(mountPoint: Self.outputsMount, root: folder.appendingPathComponent("outputs")), extraVolumes: extraVolumes)
    }

    /// A sandbox over the given volumes (inside an isolated sandbox, each folder is where the
    /// agent sees it).
    public init(sessionID: String, workspace: DiskVolume, outputs: DiskVolume, extraVolumes: [any SandboxVolume] = []) throws {
        self.sessionID = sessionID
        self.workspace = workspace
        self.outputs = outputs
        let all: [any SandboxVolume] = [workspace, outputs] + extraVolumes
        self.volumes = all.sorted { $0.mountPoint.count > $1.mountPoint.count }
    }

    /// A path resolved to the volume holding it.
    public struct Location: Sendable {
        public let volume: any SandboxVolume
        /// Normalized, relative to the volume's mount point; empty for its root.
        public let relativePath: String
        /// The normalized absolute path the agent sees.
        public var path: String { relativePath.isEmpty ? volume.mountPoint : volume.mountPoint + "/" + relativePath }
    }

    /// Resolves an agent-supplied path. Relative paths are taken from `/workspace`.
    public func resolve(_ rawPath: String) throws(SandboxError) -> Location {
        let trimmed = rawPath.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw SandboxError("path is empty") }
        if trimmed.utf8.contains(0) { throw SandboxError("path contains a NUL byte") }
        let absolute = trimmed.hasPrefix("/") ? trimmed : Self.workspaceMount + "/" + trimmed
        var components: [Substring] = []
        for component in absolute.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if components.isEmpty { throw SandboxError("\(rawPath): path leaves the sandbox") }
                components.removeLast()
            default: components.append(component)
            }
        }
        let normalized = "/" + components.joined(separator: "/")
        for volume in volumes {
            let mount = volume.mountPoint
            if normalized == mount { return Location(volume: volume, relativePath: "") }
            if normalized.hasPrefix(mount + "/") {
                return Location(volume: volume, relativePath: String(normalized.dropFirst(mount.count + 1)))
            }
        }
        let mounts = volumes.map(\.mountPoint).sorted().joined(separator: ", ")
        let climbs = absolute.split(separator: "/").contains("..")
        throw SandboxError("\(rawPath): \(climbs ? "path leaves the sandbox" : "outside the sandbox"); files live under \(mounts)")
    }

    /// The memory store volumes, by mount point.
    public var memoryVolumes: [any SandboxVolume] {
        volumes.filter { $0.mountPoint.hasPrefix(Self.memoryRoot + "/") }
    }

    /// Every volume besides the workspace and the outputs: memory stores and mounted files.
    public var extraVolumes: [any SandboxVolume] {
        volumes.filter { $0.mountPoint != Self.workspaceMount && $0.mountPoint != Self.outputsMount }
    }

    /// The resource attached under `key`, made and attached on first use (the bash shell).
    /// Fails once the sandbox is closed.
    public func resource<Resource: SandboxResource>(_ key: String, make: () -> Resource) throws(SandboxError) -> Resource {
        try attachments.withLock { (state) throws(SandboxError) -> Resource in
            if state.isClosed { throw SandboxError("the session's sandbox is closed") }
            if let existing = state.resources[key] as? Resource { return existing }
            let made = make()
            state.resources[key] = made
            return made
        }
    }

    /// Whether `close()` was called.
    public var isClosed: Bool { attachments.withLock { $0.isClosed } }

    /// Stops everything attached to the sandbox (processes bash started). The files stay.
    /// The runtime calls this when the session ends or is deleted; later tool calls fail.
    public func close() async {
        let resources = attachments.withLock { state in
            state.isClosed = true
            defer { state.resources = [:] }
            return Array(state.resources.values)
        }
        for resource in resources { await resource.close() }
    }
}
