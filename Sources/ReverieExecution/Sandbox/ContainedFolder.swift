#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// File operations the server makes in a folder an agent can change (a mounted memory store,
/// the workspace), which never follow a symbolic link: every path component is opened relative
/// to the one before (`openat` with `O_NOFOLLOW`), so a link the agent planted — or swaps in
/// while the server works — cannot lead the server to read, write, move or delete anything
/// outside the folder. A path through a link is treated as missing.
public struct ContainedFolder: Sendable {
    public let root: URL
    /// The host user new files and folders are given to (an isolated sandbox's user), if any.
    public let owner: UInt32?

    public init(root: URL, owner: UInt32? = nil) {
        self.root = root
        self.owner = owner
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The content of the regular file at `relative`; nil when it is missing, not a regular
    /// file, reached through a link, or larger than `limit` bytes.
    public func read(_ relative: String, limit: Int = .max) -> Data? {
        guard let (parent, name) = try? open(parentOf: relative, creating: false) else { return nil }
        defer { close(parent) }
        let descriptor = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, Int(status.st_size) <= limit else { return nil }
        let (data, exceeded) = DescriptorReading.readAll(descriptor, limit: limit)
        // Past the limit: it grew while being read.
        return exceeded ? nil : data
    }

    /// Writes `data` to `relative`, creating its folders: into a new file that then replaces
    /// the entry there (a link is replaced, never written through).
    public func write(_ data: Data, to relative: String) throws(Failure) {
        let (parent, name) = try open(parentOf: relative, creating: true)
        defer { close(parent) }
        let temporary = ".reverie-\(UInt64.random(in: 0...UInt64.max))"
        let descriptor = openat(parent, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "cannot create \(relative) (errno \(errno))") }
        var offset = 0
        let bytes = [UInt8](data)
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                close(descriptor)
                unlinkat(parent, temporary, 0)
                throw Failure(description: "cannot write \(relative) (errno \(errno))")
            }
            offset += written
        }
        if let owner { _ = fchown(descriptor, owner, owner) }
        close(descriptor)
        guard renameat(parent, temporary, parent, name) == 0 else {
            let code = errno
            unlinkat(parent, temporary, 0)
            throw Failure(description: "cannot replace \(relative) (errno \(code))")
        }
    }

    /// Removes the entry at `relative` (a link itself, never what it points to); folders are left.
    public func remove(_ relative: String) {
        guard let (parent, name) = try? open(parentOf: relative, creating: false) else { return }
        defer { close(parent) }
        _ = unlinkat(parent, name, 0)
    }

    /// Moves the entry at `relative` to `destination` in `folder` (creating its folders),
    /// replacing what is there.
    public func move(_ relative: String, to folder: ContainedFolder, at destination: String) throws(Failure) {
        let (source, name) = try open(parentOf: relative, creating: false)
        defer { close(source) }
        let (target, targetName) = try folder.open(parentOf: destination, creating: true)
        defer { close(target) }
        guard renameat(source, name, target, targetName) == 0 else { throw Failure(description: "cannot move \(relative) (errno \(errno))") }
    }

    /// Every regular file under the folder, as `/`-separated relative paths; links (to files or
    /// folders) are not followed.
    public func regularFiles() -> [String] {
        let descriptor = Glibc.open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        var found: [String] = []
        Self.walk(descriptor, prefix: "", into: &found, depth: 0)
        return found.sorted()
    }

    // MARK: plumbing

    /// The folder holding `relative`'s last component (opened, to be closed by the caller),
    /// and that component.
    func open(parentOf relative: String, creating: Bool) throws(Failure) -> (Int32, String) {
        let components = relative.split(separator: "/").map(String.init)
        guard let name = components.last, components.allSatisfy({ $0 != "." && $0 != ".." && !$0.contains("\0") }) else {
            throw Failure(description: "'\(relative)' is not a path inside the folder")
        }
        var current = Glibc.open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw Failure(description: "cannot open \(root.path) (errno \(errno))") }
        for component in components.dropLast() {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, creating {
                if mkdirat(current, component, 0o755) == 0, let owner { _ = fchownat(current, component, owner, owner, AT_SYMLINK_NOFOLLOW) }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            close(current)
            guard next >= 0 else { throw Failure(description: "cannot open a folder of \(relative) (errno \(code))") }
            current = next
        }
        return (current, name)
    }

    /// Adds the regular files under `descriptor` (which it closes) to `found`.
    private static func walk(_ descriptor: Int32, prefix: String, into found: inout [String], depth: Int) {
        guard depth < 64, let directory = fdopendir(descriptor) else {
            close(descriptor)
            return
        }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            // Read the name through its pointer: copying `d_name` whole can read past the record.
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            var status = stat()
            guard fstatat(dirfd(directory), name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                found.append(prefix + name)
            case S_IFDIR:
                let child = openat(dirfd(directory), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 { walk(child, prefix: prefix + name + "/", into: &found, depth: depth + 1) }
            default:
                continue
            }
        }
    }
}
