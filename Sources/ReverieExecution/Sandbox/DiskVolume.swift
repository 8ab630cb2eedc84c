import Foundation

/// A volume backed by a folder on disk. Every path is checked, after resolving symbolic
/// links, to stay inside the folder: `..`, absolute links and links that point outside are refused.
public struct DiskVolume: SandboxVolume {
    public let mountPoint: String
    public let isReadOnly: Bool
    /// The folder, with symbolic links resolved.
    public let root: URL

    public init(mountPoint: String, root: URL, isReadOnly: Bool = false) throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        self.mountPoint = mountPoint
        self.isReadOnly = isReadOnly
        self.root = root.resolvingSymlinksInPath().standardizedFileURL
    }

    public var hostRoot: URL? { root }

    /// The largest file `read` returns.
    public static let maxReadBytes = 64 << 20

    /// The host URL of a relative path, refusing anything that resolves outside the root.
    public func hostURL(_ relativePath: String) throws(SandboxError) -> URL {
        let url = relativePath.isEmpty ? root : root.appendingPathComponent(relativePath)
        // Resolve links on the longest existing prefix; the rest does not exist yet.
        var existing = url
        var missing: [String] = []
        while !FileManager.default.fileExists(atPath: existing.path), existing.path != "/" {
            // A dangling symbolic link still counts as existing: it must be checked.
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: existing.path)) != nil { break }
            missing.insert(existing.lastPathComponent, at: 0)
            existing.deleteLastPathComponent()
        }
        var resolved = existing.resolvingSymlinksInPath().standardizedFileURL
        // Follow a chain of links by hand: Foundation stops at a dangling one.
        var hops = 0
        while let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: resolved.path) {
            hops += 1
            guard hops <= 32 else { throw SandboxError("\(display(relativePath)): too many levels of symbolic links") }
            let parent = resolved.deletingLastPathComponent()
            let target = destination.hasPrefix("/") ? URL(fileURLWithPath: destination) : parent.appendingPathComponent(destination)
            let targetParent = target.deletingLastPathComponent().resolvingSymlinksInPath()
            resolved = targetParent.appendingPathComponent(target.lastPathComponent).standardizedFileURL
        }
        for component in missing { resolved.appendPathComponent(component) }
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        guard resolved.path == root.path || resolved.path.hasPrefix(rootPath) else {
            throw SandboxError("\(display(relativePath)): path leaves the sandbox (through a symbolic link)")
        }
        return resolved
    }

    func display(_ relativePath: String) -> String {
        relativePath.isEmpty ? mountPoint : mountPoint + "/" + relativePath
    }

    public func read(_ relativePath: String) async throws(SandboxError) -> String {
        let url = try hostURL(relativePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SandboxError("\(display(relativePath)): no such file")
        }
        if isDirectory.boolValue { throw SandboxError("\(display(relativePath)): is a directory") }
        // Reading a FIFO or device would block or never end.
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw SandboxError("\(display(relativePath)): not a regular file")
        }
        if let size = (attributes?[.size] as? NSNumber)?.intValue, size > Self.maxReadBytes {
            throw SandboxError("\(display(relativePath)): too large to read whole (\(size) bytes, the limit is \(Self.maxReadBytes)); use bash (head, tail, sed -n) to look at parts of it")
        }
        return String(decoding: try readChecked(url, relativePath), as: UTF8.self)
    }

    /// Reads the file `hostURL` checked, then checks again what was opened: a link swapped in
    /// between the check and the open (by a process in the sandbox) cannot make the server read
    /// a file outside the root.
    private func readChecked(_ url: URL, _ relativePath: String) throws(SandboxError) -> Data {
        let descriptor = open(url.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw SandboxError("\(display(relativePath)): cannot be read") }
        defer { close(descriptor) }
        #if os(Linux)
        let rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        guard let opened = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"), opened.hasPrefix(rootPath) else {
            throw SandboxError("\(display(relativePath)): path leaves the sandbox (through a symbolic link)")
        }
        #endif
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { throw SandboxError("\(display(relativePath)): not a regular file") }
        guard Int(status.st_size) <= Self.maxReadBytes else {
            throw SandboxError("\(display(relativePath)): too large to read whole (\(status.st_size) bytes, the limit is \(Self.maxReadBytes)); use bash (head, tail, sed -n) to look at parts of it")
        }
        return DescriptorReading.readAll(descriptor, limit: Self.maxReadBytes).data
    }

    public func write(_ relativePath: String, content: String) async throws(SandboxError) {
        if isReadOnly { throw SandboxError("\(display(relativePath)): \(mountPoint) is read-only") }
        guard !relativePath.isEmpty else { throw SandboxError("\(mountPoint): is a directory") }
        let url = try hostURL(relativePath)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SandboxError("\(display(relativePath)): is a directory")
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: url, options: .atomic)
        } catch {
            throw SandboxError("\(display(relativePath)): cannot be written (\(error.localizedDescription))")
        }
    }

    public func delete(_ relativePath: String) async throws(SandboxError) {
        if isReadOnly { throw SandboxError("\(display(relativePath)): \(mountPoint) is read-only") }
        let url = try hostURL(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else { throw SandboxError("\(display(relativePath)): no such file") }
        do { try FileManager.default.removeItem(at: url) } catch {
            throw SandboxError("\(display(relativePath)): cannot be deleted (\(error.localizedDescription))")
        }
    }

    public func fileExists(_ relativePath: String) async -> Bool {
        guard let url = try? hostURL(relativePath) else { return false }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    public func files(under relativeFolder: String) async throws(SandboxError) -> [SandboxFile] {
        let folder = try hostURL(relativeFolder)
        guard let enumerator = FileManager.default.enumerator(
            at: folder, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey, .isSymbolicLinkKey],
            options: [])
        else { return [] }
        var result: [SandboxFile] = []
        let rootPath = root.path
        for case let url as URL in enumerator {
            guard let values = try? url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey, .isSymbolicLinkKey])
            else { continue }
            // Links are not followed when listing, so a link cannot expose files outside.
            if values.isSymbolicLink == true { continue }
            guard values.isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(rootPath) else { continue }
            let relative = String(path.dropFirst(rootPath.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            result.append(SandboxFile(path: display(relative), size: values.fileSize ?? 0, modified: values.contentModificationDate ?? Date(timeIntervalSince1970: 0)))
        }
        return result
    }
}
