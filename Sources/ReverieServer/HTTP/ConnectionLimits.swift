/// Time and count limits on client connections, enforced per connection by `ConnectionGuard`.
public struct ConnectionLimits: Sendable, Equatable {
    /// A new connection must send a complete request head within this time.
    public var headTimeout: Duration
    /// A kept-alive connection with no request in progress is closed after this time.
    public var keepAliveTimeout: Duration
    /// While a request body is arriving, the longest gap between two of its parts.
    public var bodyTimeout: Duration
    /// A connection that cannot take more response bytes (its client stopped reading) for
    /// this long is closed.
    public var writeStallTimeout: Duration
    /// Open connections from one client address; more are closed as they arrive (0: no cap).
    public var maxConnectionsPerAddress: Int

    public init(headTimeout: Duration = .seconds(20), keepAliveTimeout: Duration = .seconds(75), bodyTimeout: Duration = .seconds(30),
                writeStallTimeout: Duration = .seconds(60), maxConnectionsPerAddress: Int = 512) {
        self.headTimeout = headTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.bodyTimeout = bodyTimeout
        self.writeStallTimeout = writeStallTimeout
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}
