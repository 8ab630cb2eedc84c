/// Why an egress proxy or loopback forwarder could not start.
public enum EgressProxyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `start` was called on one already running.
    case alreadyRunning
    /// The listening socket reported no port.
    case noBoundPort

    public var description: String {
        switch self {
        case .alreadyRunning: return "already running"
        case .noBoundPort: return "the listening socket has no port"
        }
    }
}
