import Foundation
import NIOCore
import NIOPosix

/// A client speaking raw bytes to a proxy on `127.0.0.1:<port>`, as a sandboxed tool would.
struct RawProxyClient: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let port: Int

    /// What came back from a CONNECT: the proxy's reply (its head, or the whole refusal) and, after a
    /// 200, the tunnelled reply.
    struct TunnelExchange: Sendable {
        var proxyReply: String
        var tunnelled: String
        var status: Int? { Int(proxyReply.split(separator: " ").dropFirst().first ?? "") }
    }

    /// Sends `request` and reads until the other side closes.
    func roundTrip(_ request: String) async throws -> String {
        let connection = try await connect()
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received: [UInt8] = []
            for try await chunk in inbound { received += Array(chunk.readableBytesView) }
            return String(decoding: received, as: UTF8.self)
        }
    }

    /// Sends `CONNECT host:port`, and after a 200 sends `payload` through the tunnel and reads until
    /// the other side closes; after another status, reads the rest of the refusal.
    func tunnel(to authority: String, payload: String) async throws -> TunnelExchange {
        let connection = try await connect()
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n"))
            var received: [UInt8] = []
            var exchange: TunnelExchange?
            for try await chunk in inbound {
                received += Array(chunk.readableBytesView)
                if exchange == nil, let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let reply = String(decoding: received[..<end.upperBound], as: UTF8.self)
                    received.removeSubrange(..<end.upperBound)
                    exchange = TunnelExchange(proxyReply: reply, tunnelled: "")
                    if exchange?.status == 200 { try await outbound.write(ByteBuffer(string: payload)) }
                }
            }
            let rest = String(decoding: received, as: UTF8.self)
            guard var result = exchange else { return TunnelExchange(proxyReply: rest, tunnelled: "") }
            // After a refusal everything is the proxy's (its body); after a 200 everything is the origin's.
            if result.status == 200 { result.tunnelled = rest } else { result.proxyReply += rest }
            return result
        }
    }

    /// Opens a connection to the proxy (for tests that hold a tunnel open).
    func connect() async throws -> Connection {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
    }
}
