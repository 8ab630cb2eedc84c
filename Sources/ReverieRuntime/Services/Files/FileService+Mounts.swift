import Foundation
import ReverieCore
import ReverieExecution

extension FileService {
    /// The read-only volumes that show a session's file resources at their mount paths: the
    /// files of each mount folder are linked (or copied) into a folder of the session's, which
    /// is mounted read-only at that folder. A file deleted from the Files API since it was
    /// attached is left out.
    public func volumes(for session: Session) async throws -> [any SandboxVolume] {
        let mounts = session.resources.compactMap { if case .file(let mount) = $0 { mount } else { nil } }
        guard !mounts.isEmpty else { return [] }
        let root = Sandbox.sessionFolder(dataDirectory: dataDirectory, sessionID: session.id).appendingPathComponent("mounts")
        try? FileManager.default.removeItem(at: root)
        var folders: [String: URL] = [:]
        for mount in mounts {
            guard let file = try await store.file(id: mount.fileID) else { continue }
            let parent = (mount.mountPath as NSString).deletingLastPathComponent
            let folder = folders[parent] ?? root.appendingPathComponent("\(folders.count)")
            folders[parent] = folder
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let target = folder.appendingPathComponent((mount.mountPath as NSString).lastPathComponent)
            try blobs.place(sha256: file.sha256, at: target)
        }
        return try folders.sorted { $0.key < $1.key }.map { try DiskVolume(mountPoint: $0.key, root: $0.value, isReadOnly: true) }
    }
}
