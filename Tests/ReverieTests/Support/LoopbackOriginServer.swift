import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 origin on a loopback address: reads one request (head and `Content-Length` body),
/// records its head and answers `200` with `<method> <target> host=<Host> body=<bytes>`, then closes.
final class LoopbackOriginServer: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    /// The request heads received, shared with the serving task.
    final class HeadLog: Sendable {
        private let heads = Mutex<[String]>([])
        var all: [String] { heads.withLock { $0 } }
        func append(_ head: String) { heads.withLock { $0.append(head) } }
    }

    struct NoPort: Error {}

    let host: String
    let port: Int
    private let listener: NIOAsyncChannel<Connection, Never>
    private let log = HeadLog()
    private let serving: Task<Void, Never>

    /// Every request head received (without the blank line), in order.
    var receivedHeads: [String] { log.all }

    /// Starts serving on `host` (any port).
    init(host: String = "127.0.0.2") async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
        guard let port = listener.channel.localAddress?.port else { throw NoPort() }
        self.host = host
        self.port = port
        self.listener = listener
        let log = self.log
        self.serving = Task {
            try? await listener.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            group.addTask { await Self.serve(connection, log: log) }
                        }
                    } catch {}
                }
            }
        }
    }

    /// Stops listening and waits for open requests to finish.
    func stop() async {
        listener.channel.close(promise: nil)
        await serving.value
    }

    private static func serve(_ connection: Connection, log: HeadLog) async {
        try? await connection.executeThenClose { inbound, outbound in
            var received: [UInt8] = []
            var head: String?
            var bodyNeeded = 0
            for try await chunk in inbound {
                received += Array(chunk.readableBytesView)
                if head == nil, let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let text = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                    head = text
                    log.append(text)
                    received.removeSubrange(..<end.upperBound)
                    bodyNeeded = Self.field("content-length", in: text).flatMap { Int($0) } ?? 0
                }
                if let head, received.count >= bodyNeeded {
                    let requestLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
                    let parts = requestLine.split(separator: " ")
                    let method = parts.first.map(String.init) ?? "?"
                    let target = parts.count > 1 ? String(parts[1]) : "?"
                    let body = "\(method) \(target) host=\(Self.field("host", in: head) ?? "-") body=\(received.count)"
                    let response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                    try await outbound.write(ByteBuffer(string: response))
                    return
                }
            }
        }
    }

    private static func field(_ name: String, in head: String) -> String? {
        for line in head.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == name else { continue }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }
}
