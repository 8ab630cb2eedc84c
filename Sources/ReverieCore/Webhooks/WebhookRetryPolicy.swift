import Foundation

/// When a failed delivery is tried again: exponential backoff with jitter.
///
/// The ceiling of the n-th retry is `min(maxDelay, baseDelay × factor^(n-1))`; the actual delay is
/// drawn uniformly from `[ceiling × (1 - jitter), ceiling]`. `jitter = 1` is "full jitter";
/// the default `0.5` keeps retries spread over about a day while still de-synchronizing
/// endpoints that failed together. The standard policy makes 10 attempts (9 retries) whose
/// ceilings are 1 min, 3 min, 9 min, 27 min, 81 min, ~4 h, 8 h, 8 h, 8 h: between ~15 h and
/// ~30 h from the first attempt to the last.
public struct WebhookRetryPolicy: Sendable, Equatable {
    /// Attempts per round (the first one included) before the delivery fails.
    public var maxAttempts: Int
    /// Ceiling of the first retry, seconds.
    public var baseDelay: Double
    public var factor: Double
    /// Largest ceiling, seconds.
    public var maxDelay: Double
    /// Fraction of each delay that is random, 0…1.
    public var jitter: Double

    public init(maxAttempts: Int = 10, baseDelay: Double = 60, factor: Double = 3, maxDelay: Double = 8 * 3600, jitter: Double = 0.5) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.factor = max(1, factor)
        self.maxDelay = max(0, maxDelay)
        self.jitter = min(1, max(0, jitter))
    }

    public static let standard = WebhookRetryPolicy()

    /// The largest delay before retry `retry` (1-based), seconds.
    public func ceiling(retry: Int) -> Double {
        let exponent = Double(max(0, retry - 1))
        return min(maxDelay, baseDelay * pow(factor, exponent))
    }

    /// The delay before the next attempt after `attempts` failed attempts in this round,
    /// or nil when the round is over. `random` is uniform in 0…1.
    public func delay(afterAttempts attempts: Int, random: Double) -> Double? {
        guard attempts < maxAttempts else { return nil }
        let ceiling = ceiling(retry: attempts)
        return ceiling * (1 - jitter * min(1, max(0, random)))
    }

    /// The sum of every retry's ceiling: the longest a round can last, seconds.
    public var longestRound: Double {
        (1..<maxAttempts).reduce(0) { $0 + ceiling(retry: $1) }
    }
}
