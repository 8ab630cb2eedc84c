import Foundation

/// Reads the regular files of an uncompressed POSIX ustar archive (what
/// `skills.versions.download` serves), for a worker that mounts a session's skills. A path that
/// is absolute or climbs out (`..`), a bad header checksum or a truncated archive is an error;
/// other entries (folders, links, devices) are skipped.
public enum TarReader {
    public struct Entry: Sendable, Equatable {
        /// Relative, `/`-separated.
        public var path: String
        public var content: Data
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func files(in data: Data) throws(Failure) -> [Entry] {
        let bytes = [UInt8](data)
        var entries: [Entry] = []
        var offset = 0
        while offset + 512 <= bytes.count {
            let header = Array(bytes[offset..<offset + 512])
            if header.allSatisfy({ $0 == 0 }) { break }
            guard let checksum = octal(header, 148, 8),
                header.enumerated().reduce(0, { $0 + Int((148..<156).contains($1.offset) ? UInt8(ascii: " ") : $1.element) }) == checksum
            else { throw Failure(description: "the archive has a damaged header at byte \(offset)") }
            guard let size = octal(header, 124, 12) else { throw Failure(description: "the archive has an unreadable size at byte \(offset)") }
            let start = offset + 512
            guard size >= 0, start + size <= bytes.count else { throw Failure(description: "the archive is truncated") }
            let name = string(header, 0, 100)
            let prefix = header[257..<262].elementsEqual("ustar".utf8) ? string(header, 345, 155) : ""
            let path = prefix.isEmpty ? name : prefix + "/" + name
            if header[156] == UInt8(ascii: "0") || header[156] == 0 {
                guard isSafe(path) else { throw Failure(description: "the archive holds an unsafe path '\(path)'") }
                entries.append(Entry(path: path, content: Data(bytes[start..<start + size])))
            }
            offset = start + (size + 511) / 512 * 512
        }
        return entries
    }

    /// Relative, with no empty, `.` or `..` component.
    public static func isSafe(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.contains("\0")
            && path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    private static func string(_ header: [UInt8], _ offset: Int, _ length: Int) -> String {
        let field = header[offset..<offset + length]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func octal(_ header: [UInt8], _ offset: Int, _ length: Int) -> Int? {
        let text = string(header, offset, length).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? 0 : Int(text, radix: 8)
    }
}
