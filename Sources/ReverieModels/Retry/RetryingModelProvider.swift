/// A failed attempt that will be retried, as reported to the observer before waiting.
public struct RetryAttempt: Sendable, Equatable {
    /// The attempt that failed (1-based).
    public var attempt: Int
    public var maxAttempts: Int
    public var error: ModelError
    /// How long the provider waits before the next attempt.
    public var delay: Duration

    public init(attempt: Int, maxAttempts: Int, error: ModelError, delay: Duration) {
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.error = error
        self.delay = delay
    }
}

/// Retries another provider on retryable `ModelError`s (429, 529/overloaded, 5xx, timeouts,
/// connection failures, truncated streams) with the `RetryPolicy`.
///
/// Before each wait, `onRetry` receives the failed attempt (the runtime logs it as
/// `session.error` with `retry_status: retrying`). A streamed attempt that fails part-way
/// has already delivered some deltas through `onEvent`; the next attempt streams from the
/// start, so observers should discard partial output when `onRetry` fires. Non-retryable
/// errors are thrown at once. When the last attempt fails, the thrown `ModelError` keeps its
/// kind and carries `exhaustedAttempts` (so `retriesExhausted` is true).
public struct RetryingModelProvider: ModelProvider {
    public let base: any ModelProvider
    public let policy: RetryPolicy
    private let onRetry: @Sendable (RetryAttempt) async -> Void
    private let sleep: @Sendable (Duration) async throws -> Void
    private let random: @Sendable () -> Double

    /// - Parameters:
    ///   - sleep: Waits between attempts (tests inject a recorder that returns at once).
    ///   - random: Uniform numbers in `0...1` for the jitter.
    public init(
        _ base: any ModelProvider, policy: RetryPolicy = RetryPolicy(),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        onRetry: @escaping @Sendable (RetryAttempt) async -> Void = { _ in }
    ) {
        self.base = base
        self.policy = policy
        self.sleep = sleep
        self.random = random
        self.onRetry = onRetry
    }

    public func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        try await complete(request, onEvent: onEvent, onRetry: onRetry)
    }

    /// Like `complete(_:onEvent:)` with a per-call retry observer (instead of the one given at init).
    public func complete(
        _ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void,
        onRetry: @escaping @Sendable (RetryAttempt) async -> Void
    ) async throws -> ModelResponse {
        var attempt = 1
        while true {
            try Task.checkCancellation()
            do {
                return try await base.complete(request, onEvent: onEvent)
            } catch var error as ModelError {
                guard error.isRetryable else { throw error }
                guard attempt < policy.maxAttempts else {
                    error.exhaustedAttempts = attempt
                    throw error
                }
                let delay = policy.delay(afterAttempt: attempt, error: error, unit: random)
                await onRetry(RetryAttempt(attempt: attempt, maxAttempts: policy.maxAttempts, error: error, delay: delay))
                try await sleep(delay)
                attempt += 1
            }
        }
    }
}
