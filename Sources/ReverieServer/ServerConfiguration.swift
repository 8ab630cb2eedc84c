/// How the HTTP server listens and what it accepts.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// The port to listen on; 0 picks a free one (tests).
    public var port: Int
    /// Largest request body accepted; larger ones get 413 `request_too_large`.
    public var maxBodyBytes: Int
    /// Seconds between SSE heartbeats (`event: ping`).
    public var heartbeatSeconds: Double
    /// API keys accepted verbatim (from `REVERIE_API_KEY`), in addition to stored keys.
    public var staticAPIKeys: [String]
    /// How long a verified stored key stays cached, so the longest a revoked key keeps working.
    public var apiKeyCacheLifetime: Duration

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
