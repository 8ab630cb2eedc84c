import Foundation
import ReverieCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server key that seals webhook signing secrets at rest: 32 random bytes, base64, in
/// `<data-dir>/webhook.key`, created on first use readable by the owner only (0600).
/// Losing it makes stored secrets unreadable (deliveries then fail until each endpoint's
/// secret is regenerated); back it up with the database.
public enum WebhookKeyFile {
    public static let fileName = "webhook.key"

    /// Reads the key in `directory`, creating it when missing.
    public static func load(directory: String) throws -> Data {
        let path = (directory as NSString).appendingPathComponent(fileName)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if let existing = try read(path) { return existing }
        let key = WebhookSigningSecret.generate().key
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if descriptor < 0 {
            // Another process created it first: use theirs.
            if errno == EEXIST, let existing = try read(path) { return existing }
            throw APIError.internalError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let text = Array((key.base64EncodedString() + "\n").utf8)
        let written = text.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == text.count, synced == 0 else { throw APIError.internalError("cannot write \(path)") }
        return key
    }

    private static func read(_ path: String) throws -> Data? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let key = Data(base64Encoded: text), key.count == 32 else {
            throw APIError.internalError("\(path) does not hold a base64 32-byte key")
        }
        return key
    }
}
