import ReverieConsole

/// How the HTTP server listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// The port to listen on; 0 picks a free one (tests).
    public var port: Int
    /// Largest request body accepted; larger ones get 413 `request_too_large`.
    public var maxBodyBytes: Int
    /// Largest file accepted by `POST /v1/files` (its body is streamed to disk, not held in
    /// memory); larger ones get 413.
    public var maxUploadBytes: Int = 500 * 1024 * 1024
    /// Seconds between SSE heartbeats (`event: ping`).
    public var heartbeatSeconds: Double
    /// API keys accepted verbatim (from `REVERIE_API_KEY`), in addition to stored keys.
    public var staticAPIKeys: [String]
    /// How long a verified stored key stays cached, so the longest a revoked key keeps working.
    public var apiKeyCacheLifetime: Duration
    /// Event streams: live items buffered per subscriber before the oldest are dropped (and
    /// re-read from the store), and how far behind the log a subscriber may fall before it is
    /// disconnected (it resumes with `Last-Event-ID`).
    public var streamBufferEvents: Int = 64
    public var streamMaxLagEvents: Int = 10_000
    /// Connection limits at the HTTP edge (`ConnectionGuard`).
    public var connections: ConnectionLimits = ConnectionLimits()
    /// Serve the web console at `/console`.
    public var consoleEnabled: Bool = true
    /// The web console's sign-in lifetime and cookie settings.
    public var console: ConsoleConfiguration = ConsoleConfiguration()

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 8 * 1024 * 1024, heartbeatSeconds: Double = 15,
                staticAPIKeys: [String] = [], apiKeyCacheLifetime: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.heartbeatSeconds = heartbeatSeconds
        self.staticAPIKeys = staticAPIKeys
        self.apiKeyCacheLifetime = apiKeyCacheLifetime
    }
}
