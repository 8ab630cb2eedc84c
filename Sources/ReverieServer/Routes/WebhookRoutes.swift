import Foundation
import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/organizations/webhooks`: endpoint management as the SDK's
/// `beta.organization.webhooks`, plus Reverie's delivery log and re-send.
struct WebhookRoutes {
    let webhooks: WebhookService

    func register(on router: Router<ReverieRequestContext>) {
        let webhooks = router.group("v1/organizations/webhooks")
        webhooks.post { request, context in
            try JSONResponse.encode(try await self.webhooks.createWebhookEndpoint(
                try WebhookEndpointRequest(try await request.jsonObject(context: context), creating: true, allowPlainHTTP: self.webhooks.allowsPlainHTTP)))
        }
        webhooks.get { request, _ in
            let page = try await self.webhooks.listWebhookEndpoints(page: try request.query.idPage())
            return try JSONResponse.idPage(page, id: \.id)
        }
        webhooks.get(":webhook_id") { _, context in
            try JSONResponse.encode(try await self.webhooks.webhookEndpoint(id: try context.pathParameter("webhook_id")))
        }
        webhooks.post(":webhook_id") { request, context in
            let id = try context.pathParameter("webhook_id")
            return try JSONResponse.encode(try await self.webhooks.updateWebhookEndpoint(
                id: id, try WebhookEndpointRequest(try await request.jsonObject(context: context), creating: false, allowPlainHTTP: self.webhooks.allowsPlainHTTP)))
        }
        webhooks.delete(":webhook_id") { _, context in
            let id = try context.pathParameter("webhook_id")
            try await self.webhooks.deleteWebhookEndpoint(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "webhook_endpoint_deleted"])
        }
        webhooks.post(":webhook_id/regenerate_signing_secret") { _, context in
            let secret = try await self.webhooks.regenerateWebhookSigningSecret(id: try context.pathParameter("webhook_id"))
            return try JSONResponse.encode(["signing_secret": JSONValue.string(secret)])
        }
        webhooks.get(":webhook_id/deliveries") { request, context in
            let query = request.query
            var state: WebhookDelivery.State?
            if let text = query.string("state"), !text.isEmpty {
                guard let parsed = WebhookDelivery.State(rawValue: text) else {
                    throw APIError.invalidRequest("state: must be one of pending, succeeded, failed")
                }
                state = parsed
            }
            let page = try await self.webhooks.listWebhookDeliveries(
                endpointID: try context.pathParameter("webhook_id"), state: state, page: try query.idPage())
            return try JSONResponse.idPage(page, id: \.id)
        }
        webhooks.get(":webhook_id/deliveries/:delivery_id") { _, context in
            try JSONResponse.encode(
                try await self.webhooks.webhookDelivery(endpointID: try context.pathParameter("webhook_id"), id: try context.pathParameter("delivery_id")))
        }
        webhooks.get(":webhook_id/deliveries/:delivery_id/attempts") { request, context in
            let page = try await self.webhooks.listWebhookAttempts(
                endpointID: try context.pathParameter("webhook_id"), deliveryID: try context.pathParameter("delivery_id"),
                page: try request.query.idPage(defaultOrder: .ascending))
            return try JSONResponse.idPage(page, id: \.id)
        }
        webhooks.post(":webhook_id/deliveries/:delivery_id/resend") { _, context in
            try JSONResponse.encode(
                try await self.webhooks.resendWebhookDelivery(
                    endpointID: try context.pathParameter("webhook_id"), deliveryID: try context.pathParameter("delivery_id")))
        }
    }
}

extension QueryParameters {
    /// `limit` (0 or absent means 20, at most 100), `after_id`, `before_id` and `order` (default newest first).
    func idPage(defaultOrder: ListOrder = .descending) throws(APIError) -> IDPageRequest {
        var limit = try int("limit", default: 0, range: 0...100)
        if limit == 0 { limit = 20 }
        var order = defaultOrder
        if let text = string("order"), !text.isEmpty {
            guard let parsed = ListOrder(rawValue: text) else { throw APIError.invalidRequest("order: must be 'asc' or 'desc'") }
            order = parsed
        }
        func id(_ name: String) -> String? {
            guard let value = string(name), !value.isEmpty else { return nil }
            return value
        }
        return IDPageRequest(limit: limit, afterID: id("after_id"), beforeID: id("before_id"), order: order)
    }
}

extension JSONResponse {
    /// `{"data": [...], "has_more": …, "first_id": …, "last_id": …}` (the SDK's `SyncPage`).
    static func idPage<T: Encodable & Sendable>(_ page: IDPage<T>, id: (T) -> String) throws -> Response {
        try encode(
            IDPageBody(data: page.items, hasMore: page.hasMore, firstID: page.items.first.map(id), lastID: page.items.last.map(id)))
    }
}

/// The body of a `SyncPage` response; `first_id` and `last_id` are null on an empty page.
private struct IDPageBody<T: Encodable>: Encodable {
    var data: [T]
    var hasMore: Bool
    var firstID: String?
    var lastID: String?

    enum CodingKeys: String, CodingKey {
        case data
        case hasMore = "has_more"
        case firstID = "first_id"
        case lastID = "last_id"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(hasMore, forKey: .hasMore)
        try container.encode(firstID, forKey: .firstID)
        try container.encode(lastID, forKey: .lastID)
    }
}
