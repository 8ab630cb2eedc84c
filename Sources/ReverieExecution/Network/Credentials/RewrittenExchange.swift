import NIOCore

/// One request to a destination a session credential applies to, through the egress proxy: the
/// request is read whole (head and body, up to `maximumBodyBytes`), its placeholders replaced per
/// `CredentialSubstitution`, and sent upstream with `Connection: close`; the response is relayed
/// with `Connection: close` and the session's secrets masked (`SecretRedactor`). One request per
/// connection, as for forwarded `http://` requests.
enum RewrittenExchange {
    typealias ByteChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>
    typealias Iterator = NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator

    /// The largest request body read whole for substitution (larger ones are answered 413).
    static let maximumBodyBytes = 16 << 20

    /// A request read and rewritten, ready to send.
    struct Prepared {
        let head: String
        let body: ByteBuffer
    }

    /// Why a request could not be prepared; answered to the client as the reply says.
    struct Refusal: Error {
        let reply: ByteBuffer
        let reason: String
    }

    /// Reads the body that follows `head` (answering `Expect: 100-continue` first) and rewrites both.
    static func prepare(
        _ head: OriginRequestHead, leftover: ByteBuffer, client: inout Iterator, clientWriter: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        substitution: CredentialSubstitution
    ) async throws -> Prepared {
        let framing: OriginRequestHead.BodyFraming
        do throws(ProxyRequestError) {
            framing = try head.bodyFraming()
        } catch {
            throw Refusal(reply: ProxyReply.badRequest(error.description), reason: "bad request: \(error.description)")
        }
        if head.expectsContinue, framing != .none {
            try await clientWriter.write(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n"))
        }
        var reader = StreamReader(buffer: leftover)
        var body: ByteBuffer
        do {
            body = try await reader.body(framing, limit: maximumBodyBytes, from: &client)
        } catch is StreamReader.BodyTooLarge {
            let message = "a request body to a host with credentials is read whole, up to \(maximumBodyBytes) bytes"
            throw Refusal(reply: ProxyReply.status(413, "Content Too Large", message: message), reason: "request body too large")
        } catch let error as ProxyRequestError {
            throw Refusal(reply: ProxyReply.badRequest(error.description), reason: "bad request: \(error.description)")
        }
        body = substitution.body(body)
        let rewritten = head.outgoing(bodyLength: body.readableBytes) { name, value in substitution.header(name: name, value: value) }
        return Prepared(head: rewritten, body: body)
    }

    /// Sends `request` on `upstream` and relays the response to the client until the origin closes.
    static func send(
        _ request: Prepared, upstream: ByteChannel, clientWriter: NIOAsyncChannelOutboundWriter<ByteBuffer>, redactor: SecretRedactor
    ) async throws {
        try await upstream.executeThenClose { upstreamInbound, upstreamOutbound in
            var iterator = upstreamInbound.makeAsyncIterator()
            let answer: ProxyRequestHeadReader.Outcome
            do {
                // The TLS handshake with the destination happens here: a failure is the destination's.
                try await upstreamOutbound.write(ByteBuffer(string: request.head))
                if request.body.readableBytes > 0 { try await upstreamOutbound.write(request.body) }
                answer = try await ProxyRequestHeadReader.read(from: &iterator)
            } catch {
                throw UpstreamFailure(description: "the destination failed before answering: \(error)")
            }
            var redactor = redactor
            switch answer {
            case .endedEarly:
                try await clientWriter.write(ProxyReply.badGateway("the destination closed the connection without a response"))
            case .tooLarge:
                try await clientWriter.write(ProxyReply.badGateway("the destination's response head is too large"))
            case .head(let head, let rest):
                try await clientWriter.write(ByteBuffer(string: redactor.masked(closingHead(head))))
                try await clientWriter.write(redactor.next(rest))
                do {
                    while let chunk = try await iterator.next() {
                        let masked = redactor.next(chunk)
                        if masked.readableBytes > 0 { try await clientWriter.write(masked) }
                    }
                } catch {
                    // The origin's end (a TLS close without close_notify, a reset): what came is relayed.
                }
                let tail = redactor.finish()
                if tail.readableBytes > 0 { try await clientWriter.write(tail) }
            }
        }
    }

    /// The destination failed (TLS verification, a reset) before a response began: answered 502.
    struct UpstreamFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// A response head with its `Connection` and `Keep-Alive` fields replaced by `Connection: close`.
    static func closingHead(_ head: String) -> String {
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        var kept = lines.prefix(1).map(String.init)
        for line in lines.dropFirst() where !line.isEmpty {
            let name = line.prefix { $0 != ":" }.lowercased()
            if name != "connection" && name != "keep-alive" { kept.append(String(line)) }
        }
        kept.append("Connection: close")
        return kept.joined(separator: "\r\n") + "\r\n\r\n"
    }
}
