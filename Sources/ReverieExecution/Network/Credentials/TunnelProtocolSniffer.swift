import NIOCore
import NIOSSL

/// The first inbound handler of an intercepted CONNECT tunnel: the client's first byte tells
/// what the tunnel carries. A TLS handshake record (`0x16`) puts a TLS server handler right after
/// this one; anything else (plain HTTP through CONNECT, as some clients send to port 80) passes
/// as it is. `decided` says which (true: TLS); it fails if the tunnel closes first.
final class TunnelProtocolSniffer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let tlsContext: NIOSSLContext
    private let decided: EventLoopPromise<Bool>
    private var isDecided = false

    init(tlsContext: NIOSSLContext, decided: EventLoopPromise<Bool>) {
        self.tlsContext = tlsContext
        self.decided = decided
    }

    /// The first TLS record type: handshake.
    static let handshakeRecord: UInt8 = 0x16

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !isDecided {
            let buffer = unwrapInboundIn(data)
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
            isDecided = true
            if first == Self.handshakeRecord {
                do {
                    try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext), position: .after(self))
                } catch {
                    decided.fail(error)
                    context.close(promise: nil)
                    return
                }
            }
            decided.succeed(first == Self.handshakeRecord)
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        undecided()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        undecided()
    }

    private func undecided() {
        guard !isDecided else { return }
        isDecided = true
        decided.fail(ChannelError.eof)
    }
}
