/// What the layers report as they work, for operators' metrics. Each layer calls it where the
/// work happens; the server implements it (`PrometheusTelemetry`) and serves `/metrics`.
/// Implementations must be cheap and never throw: they run on every model and tool call.
public protocol Telemetry: Sendable {
    /// One model call (one attempt: retries are calls of their own). `error` is nil on success.
    func modelCall(provider: String, model: String, seconds: Double, inputTokens: Int, outputTokens: Int, error: String?)
    /// One built-in tool call run on an execution plane.
    func toolCall(name: String, seconds: Double, failed: Bool)
    /// One webhook delivery attempt.
    func webhookAttempt(succeeded: Bool, seconds: Double)
    /// A dream ended (`completed`, `failed`, `canceled`) after `seconds` since it was created.
    func dreamEnded(status: String, seconds: Double)
    /// An event stream ended for `reason` (`fell_behind`, `client_gone`, `finished`).
    func streamEnded(reason: String)
}

/// Reports nothing (tools, tests and benchmarks that do not serve metrics).
public struct NoTelemetry: Telemetry {
    public init() {}
    public func modelCall(provider: String, model: String, seconds: Double, inputTokens: Int, outputTokens: Int, error: String?) {}
    public func toolCall(name: String, seconds: Double, failed: Bool) {}
    public func webhookAttempt(succeeded: Bool, seconds: Double) {}
    public func dreamEnded(status: String, seconds: Double) {}
    public func streamEnded(reason: String) {}
}
