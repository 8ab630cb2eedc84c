/// How `RetryingModelProvider` retries: exponential backoff with full jitter
/// (`random(0, min(maxDelay, baseDelay · 2^(attempt-1)))`), or the server's `retry-after`
/// when it gives one (up to `maxRetryAfter`).
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in total, the first included (1 = never retry).
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// The longest `retry-after` honoured; longer requests are shortened to this.
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30), maxRetryAfter: Duration = .seconds(120)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// No retries.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait after failed attempt `attempt` (1-based). `unit` returns a uniform random
    /// number in `0...1`.
    public func delay(afterAttempt attempt: Int, error: ModelError, unit: () -> Double) -> Duration {
        if let retryAfter = error.retryAfter {
            return min(.seconds(max(0, retryAfter)), maxRetryAfter)
        }
        let exponent = min(max(0, attempt - 1), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let fraction = min(1, max(0, unit()))
        return fraction >= 1 ? ceiling : ceiling * fraction
    }
}
