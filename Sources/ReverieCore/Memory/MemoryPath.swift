import Crypto
import Foundation

/// The rules for memory paths and content, as the API documents them.
///
/// A path starts with `/`, has 1 to 20 segments, none empty, `.` or `..`; it holds no
/// control or format characters and no U+2028/U+2029; it is in Unicode Normalization
/// Form C and at most 1,024 UTF-8 bytes. Paths are case-sensitive. Content is UTF-8 text
/// of at most 102,400 bytes.
public enum MemoryPath {
    public static let maxBytes = 1024
    public static let maxSegments = 20
    public static let maxContentBytes = 102_400

    /// Checks `path`, naming `field` and the broken rule in the error.
    public static func validate(_ path: String, field: FieldPath = FieldPath("path")) throws(APIError) {
        guard path.hasPrefix("/") else {
            throw APIError.invalidRequest("\(field): must start with '/' (got '\(preview(path))')")
        }
        let bytes = path.utf8.count
        if bytes > maxBytes {
            throw APIError.invalidRequest("\(field): must be at most \(maxBytes) bytes (got \(bytes))")
        }
        try checkCharacters(path, field: field)
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if segments.count > maxSegments {
            throw APIError.invalidRequest("\(field): must have at most \(maxSegments) segments (got \(segments.count))")
        }
        for segment in segments {
            if segment.isEmpty {
                throw APIError.invalidRequest("\(field): must not contain empty segments (no '//' and no trailing '/')")
            }
            if segment == "." || segment == ".." {
                throw APIError.invalidRequest("\(field): must not contain '.' or '..' segments")
            }
        }
    }

    /// Checks a list prefix: `/`, or a valid path followed by `/`.
    public static func validatePrefix(_ prefix: String, field: FieldPath = FieldPath("path_prefix")) throws(APIError) {
        guard prefix.hasPrefix("/") else {
            throw APIError.invalidRequest("\(field): must start with '/' (got '\(preview(prefix))')")
        }
        guard prefix.hasSuffix("/") else {
            throw APIError.invalidRequest("\(field): must end with '/' (it matches whole segments, e.g. '/notes/')")
        }
        if prefix == "/" { return }
        try validate(String(prefix.dropLast()), field: field)
    }

    /// Checks content size.
    public static func validateContent(_ content: String, field: FieldPath = FieldPath("content")) throws(APIError) {
        let bytes = content.utf8.count
        if bytes > maxContentBytes {
            throw APIError.invalidRequest("\(field): must be at most \(maxContentBytes) bytes (got \(bytes))")
        }
    }

    /// Lowercase hex SHA-256 of the UTF-8 bytes of `content`.
    public static func sha256(_ content: String) -> String {
        SHA256.hash(data: Data(content.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks an expected `content_sha256` value: 64 lowercase hex digits.
    public static func validateSHA256(_ value: String, field: FieldPath) throws(APIError) {
        let valid = value.utf8.count == 64 && value.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        if !valid {
            throw APIError.invalidRequest("\(field): must be 64 lowercase hexadecimal characters")
        }
    }

    /// The segments of a valid path.
    public static func segments(_ path: String) -> [Substring] {
        path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    }

    /// The smallest string, in UTF-8 byte order, greater than every string that starts with
    /// `prefix` (a prefix ending in `/`): the end of that prefix's range.
    public static func rangeEnd(ofPrefix prefix: String) -> String {
        // Every prefix ends with '/'; the next byte value is '0'.
        String(prefix.dropLast()) + "0"
    }

    /// Whether `a` sorts before `b` in UTF-8 byte order (the order the API lists paths in).
    public static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    private static func checkCharacters(_ path: String, field: FieldPath) throws(APIError) {
        for scalar in path.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control:
                throw APIError.invalidRequest("\(field): must not contain control characters (found U+\(hex(scalar)))")
            case .format:
                throw APIError.invalidRequest("\(field): must not contain format characters (found U+\(hex(scalar)))")
            case .lineSeparator, .paragraphSeparator:
                throw APIError.invalidRequest("\(field): must not contain the line or paragraph separators U+2028 and U+2029")
            default:
                continue
            }
        }
        let normalized = path.precomposedStringWithCanonicalMapping
        if !normalized.utf8.elementsEqual(path.utf8) {
            throw APIError.invalidRequest("\(field): must be in Unicode Normalization Form C (NFC)")
        }
    }

    private static func hex(_ scalar: Unicode.Scalar) -> String {
        let text = String(scalar.value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    private static func preview(_ text: String) -> String {
        text.count > 40 ? String(text.prefix(40)) + "…" : text
    }
}
