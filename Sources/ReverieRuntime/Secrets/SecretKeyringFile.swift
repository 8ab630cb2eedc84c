import Foundation
import ReverieCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The keyring that seals server secrets at rest (webhook signing secrets, vault credentials):
/// `<data-dir>/secrets.keyring`, one `<key-id> <base64 key>` line per key, the last one current,
/// readable by the owner only (0600). It is kept apart from the database: a database dump alone
/// opens nothing. Losing it makes stored secrets unreadable; back it up apart from the database.
///
/// On first use it is created from `<data-dir>/webhook.key` (the single key of earlier versions,
/// given the id `webhook-key`) when that exists, so existing webhook secrets keep working, or
/// else with a fresh random key. `rotate` replaces the current key (see docs/operations.md).
public enum SecretKeyringFile {
    public static let fileName = "secrets.keyring"
    /// The single-key file of earlier versions, imported into the keyring once.
    public static let legacyFileName = "webhook.key"

    /// Reads the keyring in `directory`, creating it when missing.
    public static func load(directory: String) throws -> SecretKeyring {
        let path = (directory as NSString).appendingPathComponent(fileName)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let existing = try read(path) { return existing }
        let legacyPath = (directory as NSString).appendingPathComponent(legacyFileName)
        let ring = try read(legacyPath) ?? SecretKeyring(keys: [SecretKeyring.Key.generate()])
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor < 0 {
            // Another process created it first: use theirs.
            if errno == EEXIST, let existing = try read(path) { return existing }
            throw APIError.internalError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        try writeAll(ring.text, to: descriptor, path: path)
        return ring
    }

    /// Replaces the keyring file with `ring` atomically (a temporary file renamed over it).
    public static func save(_ ring: SecretKeyring, directory: String) throws {
        let path = (directory as NSString).appendingPathComponent(fileName)
        let temporary = path + ".tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw APIError.internalError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
        try writeAll(ring.text, to: descriptor, path: temporary)
        guard rename(temporary, path) == 0 else { throw APIError.internalError("cannot replace \(path): \(String(cString: strerror(errno)))") }
    }

    /// Removes the imported `webhook.key` once its key has left the keyring.
    public static func removeLegacyFile(directory: String, keeping ring: SecretKeyring) {
        guard ring.key(id: SecretKeyring.legacyKeyID) == nil else { return }
        unlink((directory as NSString).appendingPathComponent(legacyFileName))
    }

    private static func writeAll(_ text: String, to descriptor: Int32, path: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, synced == 0 else { throw APIError.internalError("cannot write \(path)") }
    }

    private static func read(_ path: String) throws -> SecretKeyring? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        do {
            return try SecretKeyring.parse(text)
        } catch {
            throw APIError.internalError("\(path): \(error.message)")
        }
    }
}
