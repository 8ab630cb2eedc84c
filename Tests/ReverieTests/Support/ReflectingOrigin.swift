import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

@testable import ReverieExecution

/// An HTTP/1.1 origin on 127.0.0.2, plain or TLS (with a certificate for whatever name the client
/// asks for, from a CA of its own the proxy is told to trust): it records each request (head and
/// `Content-Length` body) and answers `200` reflecting both back, then closes, as an echo service
/// such as httpbin would.
final class ReflectingOrigin: Sendable {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    struct Request: Sendable {
        var head: String
        var body: String
    }

    struct NoPort: Error {}

    let port: Int
    /// The CA that signed the origin's certificates (PEM), for the proxy's extra trust roots.
    let caPEM: String?
    private let listener: NIOAsyncChannel<Connection, Never>
    /// The requests received, shared with the serving task.
    final class RequestLog: Sendable {
        private let requests = Mutex<[Request]>([])
        var all: [Request] { requests.withLock { $0 } }
        func append(_ request: Request) { requests.withLock { $0.append(request) } }
    }

    private let requests = RequestLog()
    private let serving = Mutex<Task<Void, Never>?>(nil)

    /// Every request received, in order.
    var received: [Request] { requests.all }

    /// Starts serving; with `tls`, the origin's CA is made in `caFolder`.
    init(tls caFolder: String? = nil) async throws {
        var context: NIOSSLContext?
        var caPEM: String?
        if let caFolder {
            let authority = try EgressCertificateAuthority.loadOrCreate(directory: caFolder)
            caPEM = authority.certificatePEM
            let first = try authority.serverIdentity(for: "origin.test")
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: first.chain.map { .certificate($0) }, privateKey: .privateKey(first.key))
            configuration.sslContextCallback = { values, promise in
                do {
                    let identity = try authority.serverIdentity(for: values.serverHostname ?? "127.0.0.2")
                    var override = NIOSSLContextConfigurationOverride()
                    override.certificateChain = identity.chain.map { .certificate($0) }
                    override.privateKey = .privateKey(identity.key)
                    promise.succeed(override)
                } catch {
                    promise.fail(error)
                }
            }
            context = try NIOSSLContext(configuration: configuration)
        }
        let tlsContext = context
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.2", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext)) }
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        guard let port = listener.channel.localAddress?.port else { throw NoPort() }
        self.port = port
        self.caPEM = caPEM
        self.listener = listener
        let task = Task<Void, Never> { [requests] in
            _ = try? await listener.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            group.addTask { await Self.serve(connection, into: requests) }
                        }
                    } catch {}
                }
            }
        }
        serving.withLock { $0 = task }
    }

    func stop() async {
        listener.channel.close(promise: nil)
        await serving.withLock({ $0 })?.value
    }

    private static func serve(_ connection: Connection, into requests: RequestLog) async {
        try? await connection.executeThenClose { inbound, outbound in
            var received: [UInt8] = []
            var head: String?
            var bodyNeeded = 0
            for try await chunk in inbound {
                received += Array(chunk.readableBytesView)
                if head == nil, let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                    let text = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                    head = text
                    received.removeSubrange(..<end.upperBound)
                    for line in text.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                        bodyNeeded = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
                if let head, received.count >= bodyNeeded {
                    let body = String(decoding: received.prefix(bodyNeeded), as: UTF8.self)
                    requests.append(Request(head: head, body: body))
                    let reflected = "REFLECTED\n\(head)\n\n\(body)\n"
                    try await outbound.write(ByteBuffer(string:
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(reflected.utf8.count)\r\nX-Echo-Len: \(body.utf8.count)\r\n\r\n\(reflected)"))
                    return
                }
            }
        }
    }
}
