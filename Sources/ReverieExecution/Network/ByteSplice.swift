import NIOCore

/// Copies bytes both ways between a client connection, whose reading has already begun, and an
/// upstream connection, until both directions have ended. An end of input on one side is passed on
/// as a half-close of the other side's output; a failure on either side closes both.
enum ByteSplice {
    /// Bytes copied each way.
    struct Counts: Sendable {
        var clientToUpstream = 0
        var upstreamToClient = 0
    }

    /// The channels' outbound writers must have half-closure enabled and the channels
    /// `allowRemoteHalfClosure` set, so a half-close is passed on rather than a close.
    static func run(
        client: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        clientWriter: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        clientChannel: any Channel,
        upstreamInbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        upstreamWriter: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        upstreamChannel: any Channel
    ) async -> Counts {
        await withTaskGroup(of: Int.self) { group in
            group.addTask {
                var copied = 0
                do {
                    for try await buffer in upstreamInbound {
                        copied += buffer.readableBytes
                        try await clientWriter.write(buffer)
                    }
                    clientWriter.finish()
                } catch {
                    upstreamChannel.close(promise: nil)
                    clientChannel.close(promise: nil)
                }
                return copied
            }
            var counts = Counts()
            do {
                while let buffer = try await client.next() {
                    counts.clientToUpstream += buffer.readableBytes
                    try await upstreamWriter.write(buffer)
                }
                upstreamWriter.finish()
            } catch {
                upstreamChannel.close(promise: nil)
                clientChannel.close(promise: nil)
            }
            counts.upstreamToClient = await group.next() ?? 0
            return counts
        }
    }
}
