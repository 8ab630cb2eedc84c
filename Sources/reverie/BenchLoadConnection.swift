import NIOCore
import NIOHTTP1
import NIOPosix

/// A lean HTTP/1.1 keep-alive connection for generating load: one request at a time, with
/// no pooling, tracing, redirects or URL parsing per request. The benchmarks run their
/// clients in the same process as the server, on the same cores, so the less the client
/// costs, the more the figures measure the server.
struct BenchLoadConnection {
    typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// Sends a request and returns the response's status code (0 when the connection ended
    /// first) and body.
    typealias Send = (_ method: HTTPMethod, _ path: String, _ body: String?) async throws -> (status: Int, body: ByteBuffer)

    /// Opens a connection to `127.0.0.1:port`, runs `body` with a function that sends one
    /// request and waits for its response, then closes the connection.
    static func with<T: Sendable>(port: Int, apiKey: String, _ body: (Send) async throws -> T) async throws -> T {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Channel(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            var headers = HTTPHeaders()
            headers.add(name: "host", value: "127.0.0.1:\(port)")
            headers.add(name: "x-api-key", value: apiKey)
            headers.add(name: "content-type", value: "application/json")
            return try await body { method, path, text in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
                if let text {
                    head.headers.add(name: "content-length", value: String(text.utf8.count))
                    try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(string: text))), .end(nil)])
                } else {
                    head.headers.remove(name: "content-type")
                    try await outbound.write(contentsOf: [.head(head), .end(nil)])
                }
                var status = 0
                var received = ByteBuffer()
                while let part = try await responses.next() {
                    switch part {
                    case .head(let response): status = Int(response.status.code)
                    case .body(var chunk): received.writeBuffer(&chunk)
                    case .end: return (status, received)
                    }
                }
                return (0, received)
            }
        }
    }
}
