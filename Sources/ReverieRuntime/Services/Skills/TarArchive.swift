import Foundation

/// Writes an uncompressed POSIX ustar archive (what `skills.versions.download` serves; the
/// SDK's worker extracts zip or tar).
struct TarArchive {
    private(set) var data = Data()

    /// Adds a regular file (mode 0644) at `path` (relative, `/`-separated).
    mutating func add(path: String, content: Data, modified: Date) throws {
        var header = [UInt8](repeating: 0, count: 512)
        let (prefix, name) = try Self.split(path)
        func put(_ text: String, at offset: Int, length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, length: Int) {
            put(String(String(value, radix: 8).suffix(length - 1)).leftPadded(to: length - 1), at: offset, length: length - 1)
        }
        put(name, at: 0, length: 100)
        octal(0o644, at: 100, length: 8)
        octal(0, at: 108, length: 8)
        octal(0, at: 116, length: 8)
        octal(content.count, at: 124, length: 12)
        octal(Int(modified.timeIntervalSince1970), at: 136, length: 12)
        put("        ", at: 148, length: 8)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, length: 6)
        put("00", at: 263, length: 2)
        put(prefix, at: 345, length: 155)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(String(checksum, radix: 8).leftPadded(to: 6), at: 148, length: 6)
        header[154] = 0
        header[155] = UInt8(ascii: " ")
        data.append(contentsOf: header)
        data.append(content)
        let padding = (512 - content.count % 512) % 512
        data.append(contentsOf: [UInt8](repeating: 0, count: padding))
    }

    /// The archive, closed by two empty blocks.
    var bytes: Data { data + Data(count: 1024) }

    /// A path as ustar's `prefix` and `name` (at most 155 and 100 bytes).
    static func split(_ path: String) throws -> (prefix: String, name: String) {
        if path.utf8.count <= 100 { return ("", path) }
        let parts = path.split(separator: "/")
        for cut in (1..<parts.count).reversed() {
            let prefix = parts[..<cut].joined(separator: "/")
            let name = parts[cut...].joined(separator: "/")
            if prefix.utf8.count <= 155, name.utf8.count <= 100 { return (prefix, name) }
        }
        throw CocoaError(.fileWriteInvalidFileName)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
