import Foundation
import Prometheus
import ReverieCore

/// The server's metrics, kept in a Prometheus registry of its own (not the process-wide
/// `MetricsSystem`, so several servers in one process — tests — never share counters) and
/// served at `GET /metrics`. Each metric is documented in docs/operations.md.
public final class PrometheusTelemetry: Telemetry {
    let registry = PrometheusCollectorRegistry()

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
    ]
    static let dreamBuckets: [Duration] = [.seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(900), .seconds(3600)]

    public init() {}

    private func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "reverie", metricName: name, unitName: unit, helpText: help)
    }

    // MARK: HTTP

    func request(method: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(
            descriptor: descriptor("http_requests", "total", "HTTP requests answered, by method, route and status."),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: descriptor("http_request_duration", "seconds", "Time to the response head, by method and route."),
            labels: [("method", method), ("route", route)], buckets: Self.latencyBuckets
        ).record(.milliseconds(Int64(seconds * 1000)))
    }

    // MARK: Telemetry

    public func modelCall(provider: String, model: String, seconds: Double, inputTokens: Int, outputTokens: Int, error: String?) {
        let labels = [("provider", provider), ("model", model)]
        registry.makeCounter(
            descriptor: descriptor("model_calls", "total", "Model calls (each attempt), by provider, model and result."),
            labels: labels + [("result", error ?? "ok")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: descriptor("model_call_duration", "seconds", "Model call latency, by provider and model."), labels: labels,
            buckets: Self.latencyBuckets
        ).record(.milliseconds(Int64(seconds * 1000)))
        if inputTokens > 0 {
            registry.makeCounter(descriptor: descriptor("model_tokens", "total", "Tokens, by provider, model and direction."), labels: labels + [("direction", "input")])
                .increment(by: Int64(inputTokens))
        }
        if outputTokens > 0 {
            registry.makeCounter(descriptor: descriptor("model_tokens", "total", "Tokens, by provider, model and direction."), labels: labels + [("direction", "output")])
                .increment(by: Int64(outputTokens))
        }
    }

    public func toolCall(name: String, seconds: Double, failed: Bool) {
        registry.makeCounter(
            descriptor: descriptor("tool_calls", "total", "Built-in tool calls, by tool and result."),
            labels: [("tool", name), ("result", failed ? "error" : "ok")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: descriptor("tool_call_duration", "seconds", "Built-in tool call latency, by tool."), labels: [("tool", name)],
            buckets: Self.latencyBuckets
        ).record(.milliseconds(Int64(seconds * 1000)))
    }

    public func webhookAttempt(succeeded: Bool, seconds: Double) {
        registry.makeCounter(
            descriptor: descriptor("webhook_attempts", "total", "Webhook delivery attempts, by result."), labels: [("result", succeeded ? "ok" : "failed")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: descriptor("webhook_attempt_duration", "seconds", "Webhook delivery attempt latency."), labels: [],
            buckets: Self.latencyBuckets
        ).record(.milliseconds(Int64(seconds * 1000)))
    }

    public func dreamEnded(status: String, seconds: Double) {
        registry.makeDurationHistogram(
            descriptor: descriptor("dream_duration", "seconds", "Time from a dream's creation to its end, by final status."),
            labels: [("status", status)], buckets: Self.dreamBuckets
        ).record(.milliseconds(Int64(seconds * 1000)))
    }

    public func streamEnded(reason: String) {
        registry.makeCounter(
            descriptor: descriptor("stream_disconnects", "total", "Event streams that ended, by reason."), labels: [("reason", reason)]
        ).increment()
    }

    // MARK: state sampled at scrape time

    func set(_ name: String, _ help: String, labels: [(String, String)], to value: Double) {
        registry.makeGauge(descriptor: descriptor(name, "", help), labels: labels).set(value)
    }

    /// The exposition text.
    func exposition() -> String {
        registry.emitToString()
    }
}
