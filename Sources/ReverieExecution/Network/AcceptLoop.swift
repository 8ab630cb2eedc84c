import NIOCore

/// Accepts connections on a listening channel and serves each with a handler, concurrently, until
/// stopped. Stopping closes the listener and every connection still open, then waits for the
/// handlers to return.
final class AcceptLoop: Sendable {
    /// One accepted byte-stream connection.
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    private let listener: NIOAsyncChannel<Connection, Never>
    private let connections: OpenConnections
    private let finished: Task<Void, Never>

    /// Starts accepting on `listener`, running `handler` for each connection; connections beyond
    /// `maxOpen` open at once are closed as they arrive.
    init(listener: NIOAsyncChannel<Connection, Never>, maxOpen: Int = .max, handler: @escaping @Sendable (Connection) async -> Void) {
        let connections = OpenConnections(limit: maxOpen)
        self.listener = listener
        self.connections = connections
        self.finished = Task {
            try? await listener.executeThenClose { inbound in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in inbound {
                            let channel = connection.channel
                            guard connections.admit(channel) else {
                                // Refused: closed, through the async channel so that its writer is finished.
                                group.addTask {
                                    channel.close(promise: nil)
                                    try? await connection.executeThenClose { _, _ in }
                                }
                                continue
                            }
                            group.addTask {
                                await handler(connection)
                                connections.remove(channel)
                            }
                        }
                    } catch {
                        // The listener failed or was closed: stop accepting; open connections go on
                        // until they end or `stop()` closes them.
                    }
                }
            }
        }
    }

    /// Where the listener is bound.
    var localAddress: SocketAddress? { listener.channel.localAddress }

    /// Stops accepting, closes every open connection and waits for their handlers to return.
    func stop() async {
        listener.channel.close(promise: nil)
        connections.closeAll()
        await finished.value
    }
}
