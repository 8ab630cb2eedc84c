import Foundation

/// An `application/x-www-form-urlencoded` body.
struct FormBody: Sendable {
    private var pairs: [(String, String)] = []

    init(_ text: String) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let keyValue = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            pairs.append((Self.decode(keyValue[0]), keyValue.count > 1 ? Self.decode(keyValue[1]) : ""))
        }
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The last value of `name`.
    func string(_ name: String) -> String? {
        pairs.last { $0.0 == name }?.1
    }

    /// The last non-empty value of `name`, trimmed.
    func nonEmpty(_ name: String) -> String? {
        guard let value = string(name)?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}

/// Percent-encodes a value for a query string or a path segment.
func urlEncoded(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
}
