import NIOCore

/// The answers the egress proxy itself gives a client (as opposed to relaying an origin's).
enum ProxyReply {
    /// Sent after a CONNECT tunnel is open; what follows are the origin's bytes.
    static let connectionEstablished = ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n")

    /// A complete response ending the connection, with a one-line plain-text body.
    static func status(_ code: Int, _ reasonPhrase: String, message: String) -> ByteBuffer {
        let body = "Reverie egress proxy: \(message)\n"
        return ByteBuffer(
            string: "HTTP/1.1 \(code) \(reasonPhrase)\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        )
    }

    /// 403: the policy refuses the destination.
    static func forbidden(_ message: String) -> ByteBuffer { status(403, "Forbidden", message: message) }
    /// 400: not a request the proxy understands.
    static func badRequest(_ message: String) -> ByteBuffer { status(400, "Bad Request", message: message) }
    /// 431: the request head is too large.
    static func headTooLarge() -> ByteBuffer {
        status(431, "Request Header Fields Too Large", message: "the request head is larger than \(ProxyRequestHeadReader.maximumHeadBytes) bytes")
    }
    /// 502: the destination was allowed but could not be reached.
    static func badGateway(_ message: String) -> ByteBuffer { status(502, "Bad Gateway", message: message) }
    /// 504: connecting to the destination took longer than the connect timeout.
    static func gatewayTimeout(_ message: String) -> ByteBuffer { status(504, "Gateway Timeout", message: message) }
}
