import Foundation
import ReverieCore

/// A `multipart/form-data` body (RFC 7578) read from bytes already received: each part's
/// name, file name, content type and where its content lies in the body.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        /// The part's content within the body.
        var content: Range<Int>
    }

    var parts: [Part]

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(contentType: String?) throws(APIError) -> String {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw APIError.invalidRequest("content-type: must be multipart/form-data")
        }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                if !value.isEmpty, value.count <= 200 { return value }
            }
        }
        throw APIError.invalidRequest("content-type: multipart/form-data needs a boundary")
    }

    init(_ body: Data, boundary: String) throws(APIError) {
        let delimiter = Data("--\(boundary)".utf8)
        let crlf = Data("\r\n".utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        let nextDelimiter = crlf + delimiter
        guard var position = body.range(of: delimiter)?.upperBound else { throw APIError.invalidRequest("body: no multipart boundary found") }
        var parts: [Part] = []
        while true {
            // `--` after a delimiter ends the body.
            if body.count >= position + 2, body[body.startIndex + position] == UInt8(ascii: "-"), body[body.startIndex + position + 1] == UInt8(ascii: "-") {
                break
            }
            guard let headersEnd = body.range(of: headerEnd, in: position..<body.count) else {
                throw APIError.invalidRequest("body: a multipart part has no end of headers")
            }
            let headerText = String(decoding: body[position..<headersEnd.lowerBound], as: UTF8.self)
            guard let end = body.range(of: nextDelimiter, in: headersEnd.upperBound..<body.count) else {
                throw APIError.invalidRequest("body: a multipart part is not closed by its boundary")
            }
            parts.append(try Self.part(headers: headerText, content: headersEnd.upperBound..<end.lowerBound))
            position = end.upperBound
            if parts.count > 1000 { throw APIError.invalidRequest("body: more than 1000 multipart parts") }
        }
        self.parts = parts
    }

    private static func part(headers: String, content: Range<Int>) throws(APIError) -> Part {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in headers.split(separator: "\r\n", omittingEmptySubsequences: true) {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let field = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch field {
            case "content-disposition":
                name = parameter("name", in: value)
                filename = parameter("filename", in: value)
            case "content-type":
                contentType = value
            default:
                continue
            }
        }
        guard let name else { throw APIError.invalidRequest("body: a multipart part has no content-disposition name") }
        return Part(name: name, filename: filename, contentType: contentType, content: content)
    }

    /// A `key="value"` (or unquoted) parameter of a header value.
    private static func parameter(_ key: String, in value: String) -> String? {
        var rest = Substring(value)
        while let range = rest.range(of: key + "=") {
            let before = rest[..<range.lowerBound].last
            rest = rest[range.upperBound...]
            guard before == nil || before == ";" || before == " " else { continue }
            if rest.first == "\"" {
                var result = ""
                var escaped = false
                for character in rest.dropFirst() {
                    if escaped { result.append(character); escaped = false; continue }
                    if character == "\\" { escaped = true; continue }
                    if character == "\"" { return result }
                    result.append(character)
                }
                return result
            }
            return String(rest.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// The first part named `name`.
    func part(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// Every part named `name` (or `name[]`).
    func parts(_ name: String) -> [Part] { parts.filter { $0.name == name || $0.name == name + "[]" } }
}
