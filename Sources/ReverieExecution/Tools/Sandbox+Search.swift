import Foundation

/// Listing files for the search tools (glob, grep).
extension Sandbox {
    /// Folders the search tools skip unless the search names them.
    static let skippedFolders = [".git", ".reverie"]

    /// What a search covers: a root folder the agent sees and the files under it.
    struct SearchScope {
        /// The normalized folder (or file) searched, as the agent sees it.
        var root: String
        var files: [SandboxFile]

        /// A file's path relative to the root (empty when the root is the file itself).
        func relativePath(of file: SandboxFile) -> String {
            if file.path == root { return "" }
            let prefix = root == "/" ? "/" : root + "/"
            return file.path.hasPrefix(prefix) ? String(file.path.dropFirst(prefix.count)) : file.path
        }
    }

    /// The files under `folder`, which may be a mounted volume's folder, a single file, or a
    /// folder above mount points (`/mnt/memory`, `/mnt`, `/`) that spans the volumes below it.
    /// Files inside `.git` and `.reverie` folders are left out unless `keeping` names them.
    func searchScope(_ folder: String, keeping mentioned: String = "") async throws(SandboxError) -> SearchScope {
        let scope: SearchScope
        do throws(SandboxError) {
            let location = try resolve(folder)
            if !location.relativePath.isEmpty, await location.volume.fileExists(location.relativePath) {
                // A single file: its size and date are unknown here and not needed.
                return SearchScope(root: location.path, files: [SandboxFile(path: location.path, size: 0, modified: .distantPast)])
            }
            scope = SearchScope(root: location.path, files: try await location.volume.files(under: location.relativePath))
        } catch {
            // A folder above the mount points (`/mnt/memory`) covers the volumes under it.
            let normalized = "/" + folder.split(separator: "/").joined(separator: "/")
            guard folder.hasPrefix("/"), !folder.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) else { throw error }
            let prefix = normalized == "/" ? "/" : normalized + "/"
            let below = volumes.filter { $0.mountPoint.hasPrefix(prefix) }
            guard !below.isEmpty else { throw error }
            var files: [SandboxFile] = []
            for volume in below { files += try await volume.files(under: "") }
            scope = SearchScope(root: normalized, files: files)
        }
        let kept = scope.files.filter { file in
            let segments = scope.relativePath(of: file).split(separator: "/").dropLast()
            return !segments.contains { segment in Self.skippedFolders.contains(String(segment)) && !mentioned.contains(segment) }
        }
        return SearchScope(root: scope.root, files: kept)
    }
}
