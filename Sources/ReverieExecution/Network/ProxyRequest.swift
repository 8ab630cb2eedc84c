import Foundation
import ReverieCore

/// The head of one HTTP/1.x request a sandboxed client sends to the egress proxy: either a
/// `CONNECT host:port` tunnel or an absolute-form `http://` request to forward.
struct ProxyRequest: Sendable, Equatable {
    /// What the client asks the proxy to do.
    enum Target: Sendable, Equatable {
        /// `CONNECT host:port`: open a tunnel and splice bytes.
        case tunnel
        /// `GET http://host:port/path`: forward the request with `originForm` as its target.
        case forward(originForm: String)
    }

    let method: String
    /// The destination host: a lowercased DNS name or an IP literal (IPv6 without brackets).
    let host: String
    let port: Int
    let target: Target
    /// The request's header fields, in order, as sent.
    let headers: [(name: String, value: String)]

    static func == (lhs: ProxyRequest, rhs: ProxyRequest) -> Bool {
        lhs.method == rhs.method && lhs.host == rhs.host && lhs.port == rhs.port && lhs.target == rhs.target
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// Header fields that concern only the hop between client and proxy and are never forwarded.
    private static let hopByHopHeaders: Set<String> = [
        "connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade",
        "host",
    ]

    /// Parses a request head (request line and header fields, without the blank line that ends it).
    static func parse(head: String) throws(ProxyRequestError) -> ProxyRequest {
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        guard let requestLine = lines.first else { throw ProxyRequestError("empty request") }
        guard !lines.contains(where: { $0.contains("\r") || $0.contains("\n") }) else {
            throw ProxyRequestError("bare CR or LF in the request head")
        }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw ProxyRequestError("malformed request line") }
        let method = String(parts[0])
        let requestTarget = String(parts[1])
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else { throw ProxyRequestError("malformed method") }
        guard parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0" else { throw ProxyRequestError("unsupported HTTP version") }

        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw ProxyRequestError("malformed header field") }
            let name = String(line[..<colon])
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else { throw ProxyRequestError("malformed header field") }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: [" ", "\t"])
            headers.append((name, value))
        }

        if method == "CONNECT" {
            let (host, port) = try parseAuthority(requestTarget, defaultPort: nil)
            return ProxyRequest(method: method, host: host, port: port, target: .tunnel, headers: headers)
        }
        guard requestTarget.count > 7, requestTarget.prefix(7).lowercased() == "http://" else {
            throw ProxyRequestError("a proxy request needs an absolute http:// URL (use CONNECT for https)")
        }
        let afterScheme = requestTarget.dropFirst(7)
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let (host, port) = try parseAuthority(String(afterScheme[..<authorityEnd]), defaultPort: 80)
        var originForm = String(afterScheme[authorityEnd...])
        if let fragment = originForm.firstIndex(of: "#") { originForm = String(originForm[..<fragment]) }
        if originForm.isEmpty { originForm = "/" } else if originForm.hasPrefix("?") { originForm = "/" + originForm }
        return ProxyRequest(method: method, host: host, port: port, target: .forward(originForm: originForm), headers: headers)
    }

    /// The head to send the origin for a forwarded request: origin-form target, `Host` set to the
    /// destination, hop-by-hop fields dropped and `Connection: close` (one request per connection).
    func originHead() -> String {
        guard case .forward(let originForm) = target else { return "" }
        var dropped = Self.hopByHopHeaders
        for header in headers where header.name.lowercased() == "connection" {
            for token in header.value.split(separator: ",") { dropped.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        var head = "\(method) \(originForm) HTTP/1.1\r\nHost: \(hostHeader)\r\n"
        for header in headers where !dropped.contains(header.name.lowercased()) {
            head += "\(header.name): \(header.value)\r\n"
        }
        head += "Connection: close\r\n\r\n"
        return head
    }

    /// `host[:port]` as the `Host` field names the destination.
    var hostHeader: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? shownHost : "\(shownHost):\(port)"
    }

    /// Splits `host:port` (or `[v6]:port`); the host must be a DNS name or an IP literal.
    private static func parseAuthority(_ authority: String, defaultPort: Int?) throws(ProxyRequestError) -> (String, Int) {
        guard !authority.contains("@") else { throw ProxyRequestError("credentials in the URL are not supported") }
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw ProxyRequestError("malformed IPv6 literal") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw ProxyRequestError("malformed authority") }
                portPart = rest.dropFirst()
            }
            guard NetworkAddress(String(hostPart))?.isIPv4 == false else { throw ProxyRequestError("malformed IPv6 literal") }
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ProxyRequestError("malformed authority") }
            hostPart = pieces[0]
            portPart = pieces.count == 2 ? pieces[1] : nil
            guard isHostName(hostPart) else { throw ProxyRequestError("malformed host name") }
        }
        let port: Int
        if let portPart {
            guard !portPart.isEmpty, portPart.count <= 5, portPart.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int(portPart), (1...65535).contains(value)
            else { throw ProxyRequestError("malformed port") }
            port = value
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw ProxyRequestError("CONNECT needs host:port")
        }
        var host = hostPart.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        return (host, port)
    }

    /// Letters, digits, `-`, `_` and dots between non-empty labels; at most 253 characters.
    private static func isHostName(_ text: Substring) -> Bool {
        var name = text
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63,
                label.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
            else { return false }
        }
        return true
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || "!#$%&'*+-.^_`|~".utf8.contains(byte)
    }
}
