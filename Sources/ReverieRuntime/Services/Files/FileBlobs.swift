import Crypto
import Foundation

/// The bytes of files, kept once per content: `<root>/<first two hex digits>/<sha256>`.
/// A blob is written to a temporary file and renamed into place, so a reader never sees a
/// partial one, and a crash leaves at most a stray temporary file.
public struct FileBlobs: Sendable {
    public let root: URL

    public init(root: URL) {
        self.root = root
    }

    /// The blob of a content hash.
    public func url(sha256: String) -> URL {
        root.appendingPathComponent(String(sha256.prefix(2))).appendingPathComponent(sha256)
    }

    /// Hex SHA-256 of some bytes.
    public static func sha256(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Keeps `data` (once: the same content is stored one time); returns its hash.
    @discardableResult
    public func store(_ data: some DataProtocol) throws -> String {
        let hash = Self.sha256(data)
        let target = url(sha256: hash)
        if FileManager.default.fileExists(atPath: target.path) { return hash }
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(hash).\(UUID().uuidString).tmp")
        try Data(data).write(to: temporary)
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.synchronize()
        try handle.close()
        // Blobs never change: read-only, also through the links that mount them into sandboxes.
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: temporary.path)
        if rename(temporary.path, target.path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            if !FileManager.default.fileExists(atPath: target.path) { throw CocoaError(.fileWriteUnknown) }
        }
        return hash
    }

    /// Removes a blob no file refers to any more.
    /// Places the content `sha256` at `target`: a hard link (it costs no space and blobs are
    /// read-only), or a copy when linking is not possible (another file system).
    public func place(sha256: String, at target: URL) throws {
        let blob = url(sha256: sha256)
        if link(blob.path, target.path) != 0 { try FileManager.default.copyItem(at: blob, to: target) }
    }

    public func remove(sha256: String) {
        try? FileManager.default.removeItem(at: url(sha256: sha256))
    }
}
