import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime

extension Console {
    /// Webhook endpoints, their deliveries, a delivery's attempts, and resending a delivery.
    func registerWebhooks<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/webhooks") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let endpoints = try await self.platform.webhooks.listWebhookEndpoints(page: IDPageRequest(limit: 100))
                let rows: [[String: Any]] = endpoints.items.map {
                    ["id": $0.id, "name": $0.name, "url": $0.url, "state": $0.state.rawValue, "events": $0.enabledEvents.joined(separator: ", "),
                     "disabledReason": $0.disabledReason]
                }
                return self.page("webhooks", title: "Webhooks", section: .webhooks, signedIn: signedIn, data: ["endpoints": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/webhooks/:endpoint_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let id = context.parameters.get("endpoint_id") ?? ""
                let endpoint = try await self.platform.webhooks.webhookEndpoint(id: id)
                let deliveries = try await self.platform.webhooks.listWebhookDeliveries(endpointID: id, state: nil, page: IDPageRequest(limit: 100))
                return self.page("webhook", title: endpoint.name.isEmpty ? endpoint.id : endpoint.name, section: .webhooks, signedIn: signedIn, data: [
                    "id": endpoint.id, "name": endpoint.name, "url": endpoint.url, "state": endpoint.state.rawValue,
                    "description": endpoint.description, "events": endpoint.enabledEvents.joined(separator: ", "),
                    "deliveries": deliveries.items.map(Self.deliveryRow), "empty": deliveries.items.isEmpty,
                ])
            }
        }
        router.get("console/webhooks/:endpoint_id/deliveries/:delivery_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let endpointID = context.parameters.get("endpoint_id") ?? "", id = context.parameters.get("delivery_id") ?? ""
                let delivery = try await self.platform.webhooks.webhookDelivery(endpointID: endpointID, id: id)
                let attempts = try await self.platform.webhooks.listWebhookAttempts(endpointID: endpointID, deliveryID: id, page: IDPageRequest(limit: 100))
                var data = Self.deliveryRow(delivery)
                data["endpointID"] = endpointID
                data["attempts"] = attempts.items.map { attempt -> [String: Any] in
                    ["number": attempt.number, "started": DisplayFormat.shortDate(attempt.startedAt), "status": attempt.statusCode.map(String.init) ?? "—",
                     "latency": String(format: "%.0f ms", attempt.latencyMilliseconds), "error": attempt.error, "succeeded": attempt.succeeded,
                     "response": attempt.responseExcerpt]
                }
                return self.page("webhook_delivery", title: "Delivery \(id)", section: .webhooks, signedIn: signedIn, data: data)
            }
        }
        router.post("console/webhooks/:endpoint_id/deliveries/:delivery_id/resend") { request, context in
            await self.guardedAction(request, context) { _, _ in
                let endpointID = context.parameters.get("endpoint_id") ?? "", id = context.parameters.get("delivery_id") ?? ""
                let delivery = try await self.platform.webhooks.resendWebhookDelivery(endpointID: endpointID, deliveryID: id)
                return Self.redirect(to: "/console/webhooks/\(urlEncoded(endpointID))/deliveries/\(urlEncoded(delivery.id))")
            }
        }
    }

    static func deliveryRow(_ delivery: WebhookDelivery) -> [String: Any] {
        ["id": delivery.id, "endpoint": delivery.endpointID, "event": delivery.event.type, "eventID": delivery.event.id,
         "resource": delivery.event.resourceID, "state": delivery.state.rawValue, "attempts": delivery.attempts,
         "lastStatus": delivery.lastStatusCode.map(String.init) ?? "—", "lastError": delivery.lastError,
         "created": DisplayFormat.shortDate(delivery.createdAt), "next": DisplayFormat.shortDate(delivery.nextAttemptAt)]
    }
}
