import NIOCore

/// Reads a connection's bytes by line and by count: the bytes already read past a head first,
/// then the stream.
struct StreamReader {
    typealias Iterator = NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer: ByteBuffer

    /// The stream ended before what was asked for.
    struct EndedEarly: Error {}

    /// Reads more into `buffer`; false when the stream has ended.
    private mutating func fill(from iterator: inout Iterator) async throws -> Bool {
        guard var chunk = try await iterator.next() else { return false }
        buffer.writeBuffer(&chunk)
        return true
    }

    /// The next line, without its CRLF (at most `limit` bytes).
    mutating func line(from iterator: inout Iterator, limit: Int = 8192) async throws -> String {
        while true {
            if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - buffer.readerIndex
                guard var text = buffer.readString(length: length) else { throw EndedEarly() }
                buffer.moveReaderIndex(forwardBy: 1)
                if text.hasSuffix("\r") { text.removeLast() }
                return text
            }
            guard buffer.readableBytes <= limit else { throw ProxyRequestError("a line of the body is too long") }
            guard try await fill(from: &iterator) else { throw EndedEarly() }
        }
    }

    /// Exactly `count` bytes.
    mutating func bytes(_ count: Int, from iterator: inout Iterator) async throws -> ByteBuffer {
        while buffer.readableBytes < count {
            guard try await fill(from: &iterator) else { throw EndedEarly() }
        }
        return buffer.readSlice(length: count) ?? ByteBuffer()
    }

    /// A whole request body as `framing` delimits it, decoded from chunks; more than `limit`
    /// bytes is an error.
    mutating func body(_ framing: OriginRequestHead.BodyFraming, limit: Int, from iterator: inout Iterator) async throws -> ByteBuffer {
        switch framing {
        case .none:
            return ByteBuffer()
        case .length(let count):
            guard count <= limit else { throw BodyTooLarge() }
            return try await bytes(count, from: &iterator)
        case .chunked:
            var body = ByteBuffer()
            while true {
                let sizeLine = try await line(from: &iterator)
                let digits = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                guard !digits.isEmpty, digits.count <= 15, let size = Int(digits, radix: 16) else { throw ProxyRequestError("malformed chunk size") }
                if size == 0 {
                    // Trailer fields, then the blank line; trailers are not forwarded.
                    while try await !line(from: &iterator).isEmpty {}
                    return body
                }
                guard body.readableBytes + size <= limit else { throw BodyTooLarge() }
                var chunk = try await bytes(size, from: &iterator)
                body.writeBuffer(&chunk)
                guard try await line(from: &iterator).isEmpty else { throw ProxyRequestError("malformed chunk") }
            }
        }
    }

    /// A body longer than the proxy reads whole.
    struct BodyTooLarge: Error {}
}
