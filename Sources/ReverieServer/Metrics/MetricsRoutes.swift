import Hummingbird
import Logging
import NIOCore
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `GET /metrics`: Prometheus exposition text (behind the API key like every route). States
/// are sampled from the store and the live event hub when it is read.
struct MetricsRoutes {
    let telemetry: PrometheusTelemetry
    let statistics: any StatisticsStore
    let hub: EventHub

    func register(on router: Router<ReverieRequestContext>) {
        router.get("metrics") { _, _ in
            let counts = try await statistics.statusCounts()
            for status in SessionStatus.allCases {
                telemetry.set("sessions", "Sessions, by status.", labels: [("status", status.rawValue)], to: Double(counts.sessions[status.rawValue] ?? 0))
            }
            for status in Dream.Status.allCases {
                telemetry.set("dreams", "Dreams, by status (pending ones are the queue).", labels: [("status", status.rawValue)], to: Double(counts.dreams[status.rawValue] ?? 0))
            }
            for status in Evaluation.Status.allCases {
                telemetry.set("evaluations", "Evaluations, by status.", labels: [("status", status.rawValue)], to: Double(counts.evaluations[status.rawValue] ?? 0))
            }
            for (state, count) in counts.webhookDeliveries {
                telemetry.set("webhook_deliveries", "Webhook deliveries, by state.", labels: [("state", state)], to: Double(count))
            }
            telemetry.set("outbox_pending", "Outbox events not yet turned into webhook deliveries.", labels: [], to: Double(counts.outboxPending))
            telemetry.set("stream_subscribers", "Open event-stream subscribers.", labels: [], to: Double(hub.totalSubscribers))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: telemetry.exposition())))
        }
    }
}

/// Counts every request by method, route and status, times it to its response head, and
/// logs it (at `info`) with its request id and, on session routes, the session id.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = ReverieRequestContext
    let telemetry: PrometheusTelemetry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let seconds = (ContinuousClock.now - start).seconds
        let route = context.endpointPath ?? "unmatched"
        telemetry.request(method: request.method.rawValue, route: route, status: Int(response.status.code), seconds: seconds)
        var metadata: Logger.Metadata = [
            "request_id": "\(context.requestID)", "method": "\(request.method.rawValue)", "route": "\(route)",
            "status": "\(response.status.code)", "ms": "\(Int(seconds * 1000))",
        ]
        if let session = context.parameters.get("session_id") { metadata["session_id"] = "\(session)" }
        context.logger.info("request", metadata: metadata)
        return response
    }
}
