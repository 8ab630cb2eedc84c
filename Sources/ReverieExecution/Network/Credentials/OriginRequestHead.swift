/// The head of a request as an origin receives it (origin-form target): what the egress proxy
/// reads inside an intercepted TLS tunnel, and what it sends for a rewritten request.
struct OriginRequestHead: Sendable {
    var method: String
    var target: String
    var headers: [(name: String, value: String)]

    /// How the body that follows the head is delimited.
    enum BodyFraming: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    /// Header fields that concern one hop only; a rewritten request never carries them.
    static let hopByHop: Set<String> = [
        "connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade",
        "transfer-encoding", "content-length", "expect",
    ]

    /// Parses an origin-form request head (without the blank line that ends it).
    static func parse(_ head: String) throws(ProxyRequestError) -> OriginRequestHead {
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first else { throw ProxyRequestError("empty request") }
        guard !lines.contains(where: { $0.contains("\r") || $0.contains("\n") }) else { throw ProxyRequestError("bare CR or LF in the request head") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw ProxyRequestError("malformed request line") }
        let method = String(parts[0])
        guard !method.isEmpty, method.utf8.allSatisfy(ProxyRequest.isTokenByte) else { throw ProxyRequestError("malformed method") }
        guard parts[1].hasPrefix("/") || parts[1] == "*" else { throw ProxyRequestError("the request target must be origin-form") }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else { throw ProxyRequestError("unsupported HTTP version") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw ProxyRequestError("malformed header field") }
            let name = String(line[..<colon])
            guard !name.isEmpty, name.utf8.allSatisfy(ProxyRequest.isTokenByte) else { throw ProxyRequestError("malformed header field") }
            headers.append((name, line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])))
        }
        return OriginRequestHead(method: method, target: String(parts[1]), headers: headers)
    }

    /// The body's framing; both or conflicting framings are refused (request smuggling).
    func bodyFraming() throws(ProxyRequestError) -> BodyFraming {
        let encodings = values(of: "transfer-encoding")
        let lengths = Set(values(of: "content-length").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw ProxyRequestError("both Transfer-Encoding and Content-Length") }
            let codings = encodings.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
            guard codings == ["chunked"] else { throw ProxyRequestError("unsupported Transfer-Encoding") }
            return .chunked
        }
        guard let length = lengths.first else { return .none }
        guard lengths.count == 1, length.count <= 18, length.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(length) else {
            throw ProxyRequestError("malformed Content-Length")
        }
        return value == 0 ? .none : .length(value)
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    var expectsContinue: Bool { values(of: "expect").contains { $0.lowercased() == "100-continue" } }

    /// The head to send upstream: hop-by-hop fields (and those `Connection` names) dropped, header
    /// values passed through `rewrite`, the body's length as sent, `Connection: close`.
    func outgoing(bodyLength: Int, rewrite: (String, String) -> String) -> String {
        var dropped = Self.hopByHop
        for value in values(of: "connection") {
            for token in value.split(separator: ",") { dropped.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        var head = "\(method) \(target) HTTP/1.1\r\n"
        for header in headers where !dropped.contains(header.name.lowercased()) {
            head += "\(header.name): \(rewrite(header.name, header.value))\r\n"
        }
        if bodyLength > 0 || ["POST", "PUT", "PATCH"].contains(method) { head += "Content-Length: \(bodyLength)\r\n" }
        head += "Connection: close\r\n\r\n"
        return head
    }

    private func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name }.map(\.value)
    }
}
