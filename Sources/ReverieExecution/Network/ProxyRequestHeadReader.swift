import NIOCore

/// Collects a client's first bytes until the blank line that ends an HTTP request head.
struct ProxyRequestHeadReader {
    /// The largest head accepted (request line and fields).
    static let maximumHeadBytes = 32 * 1024

    /// What reading produced.
    enum Outcome {
        /// The head (without its blank line) and the bytes that followed it (a tunnel's first bytes or
        /// a request body).
        case head(String, leftover: ByteBuffer)
        /// The client closed before finishing a head.
        case endedEarly
        /// The head is longer than `maximumHeadBytes`.
        case tooLarge
    }

    /// Reads from `iterator` until a head is complete; the iterator can then be read on for the rest.
    static func read(
        from iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    ) async throws -> Outcome {
        var collected = ByteBuffer()
        var searchFrom = 0
        while let chunk = try await iterator.next() {
            var chunk = chunk
            collected.writeBuffer(&chunk)
            let bytes = collected.readableBytesView
            if let end = Self.endOfHead(in: bytes, from: searchFrom) {
                let headLength = end - bytes.startIndex
                guard headLength <= maximumHeadBytes,
                    let head = collected.readString(length: headLength)
                else { return .tooLarge }
                collected.moveReaderIndex(forwardBy: 4)
                return .head(head, leftover: collected.slice())
            }
            if collected.readableBytes > maximumHeadBytes { return .tooLarge }
            searchFrom = max(0, collected.readableBytes - 3)
        }
        return .endedEarly
    }

    /// The index of the `\r\n\r\n` that ends the head, searching from offset `from`.
    private static func endOfHead(in bytes: ByteBufferView, from offset: Int) -> Int? {
        var index = bytes.startIndex + offset
        while index + 4 <= bytes.endIndex {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }
}
