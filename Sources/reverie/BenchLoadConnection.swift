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

extension BenchLoadConnection {
    /// What a load run measured: per-request latencies in milliseconds (sorted), failed
    /// requests, and the wall time.
    struct Load {
        var latencies: [Double]
        var errors: Int
        var seconds: Double
        var rate: Double { Double(latencies.count) / seconds }
        var p50: Double { percentile(latencies, 50) }
        var p99: Double { percentile(latencies, 99) }
    }

    /// Drives `connections` connections at once. Each calls `request` again and again, timing
    /// every call, until it returns nil; `true` counts a success, `false` a failure.
    static func drive(
        connections: Int, port: Int, apiKey: String, _ request: @escaping @Sendable (Send) async throws -> Bool?
    ) async throws -> Load {
        try await drive(connections: connections, ports: [port], apiKey: apiKey, request)
    }

    /// Drives connections spread round-robin over `ports`.
    static func drive(
        connections: Int, ports: [Int], apiKey: String, _ request: @escaping @Sendable (Send) async throws -> Bool?
    ) async throws -> Load {
        let start = ContinuousClock.now
        let (latencies, errors) = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for index in 0..<connections {
                let port = ports[index % ports.count]
                group.addTask {
                    try await with(port: port, apiKey: apiKey) { send in
                        var latencies: [Double] = []
                        var errors = 0
                        while true {
                            let begin = ContinuousClock.now
                            guard let succeeded = try await request(send) else { break }
                            if succeeded { latencies.append((ContinuousClock.now - begin).milliseconds) } else { errors += 1 }
                        }
                        return (latencies, errors)
                    }
                }
            }
            var all: [Double] = []
            var errors = 0
            for try await (latencies, failed) in group {
                all += latencies
                errors += failed
            }
            return (all, errors)
        }
        return Load(latencies: latencies.sorted(), errors: errors, seconds: (ContinuousClock.now - start).seconds)
    }
}
