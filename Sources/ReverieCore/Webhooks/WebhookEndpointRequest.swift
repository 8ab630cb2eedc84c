import Foundation

/// The body of a create (`POST /v1/organizations/webhooks`) or update
/// (`POST /v1/organizations/webhooks/{id}`) request, validated.
public struct WebhookEndpointRequest: Sendable {
    public var url: String?
    public var name: String?
    public var description: String?
    /// nil when absent, or (on update) when empty, which leaves the set unchanged.
    public var enabledEvents: [String]?
    public var state: WebhookEndpoint.State?

    /// Reads and validates a request body. `allowPlainHTTP` admits `http://` URLs (only for
    /// servers that allow private-network receivers); otherwise URLs must be `https://`.
    public init(_ body: ObjectReader, creating: Bool, allowPlainHTTP: Bool) throws(APIError) {
        try body.rejectUnknown(creating ? ["url", "name", "description", "enabled_events"] : ["url", "name", "description", "enabled_events", "state"])
        if creating || body.contains("url") {
            let url = try body.string("url")
            guard let url else { throw APIError.invalidRequest("\(body.field("url")): required") }
            try Self.checkURL(url, field: body.field("url"), allowPlainHTTP: allowPlainHTTP)
            self.url = url
        }
        if let name = try Self.text(body, "name") {
            try Rules.length(name, body.field("name"), max: WebhookEndpoint.maxNameLength)
            try Rules.noControlCharacters(name, body.field("name"))
            self.name = name
        }
        if let description = try Self.text(body, "description") {
            try Rules.length(description, body.field("description"), max: WebhookEndpoint.maxDescriptionLength)
            self.description = description
        }
        switch body.raw("enabled_events") {
        case .absent:
            if creating { throw APIError.invalidRequest("\(body.field("enabled_events")): required; list at least one event type") }
        case .null:
            throw APIError.invalidRequest("\(body.field("enabled_events")): must be a list of event types, not null")
        case .value:
            let types = try body.stringArray("enabled_events") ?? []
            if types.isEmpty {
                if creating { throw APIError.invalidRequest("\(body.field("enabled_events")): must list at least one event type") }
            } else {
                self.enabledEvents = try Self.checkEventTypes(types, field: body.field("enabled_events"))
            }
        }
        if body.contains("state") {
            guard let text = try body.string("state"), let state = WebhookEndpoint.State(rawValue: text) else {
                throw APIError.invalidRequest("\(body.field("state")): must be 'enabled' or 'disabled'")
            }
            self.state = state
        }
    }

    /// A new endpoint from a create request.
    public func makeEndpoint(id: String, now: Date) -> WebhookEndpoint {
        WebhookEndpoint(
            id: id, url: url ?? "", name: name ?? "", description: description ?? "", enabledEvents: enabledEvents ?? [],
            createdAt: now, updatedAt: now)
    }

    /// `current` with this update applied (`updated_at` moves only when something changed).
    /// Enabling clears `disabled_reason`; disabling by request leaves it empty.
    public func applied(to current: WebhookEndpoint, now: Date) -> WebhookEndpoint {
        var next = current
        if let url { next.url = url }
        if let name { next.name = name }
        if let description { next.description = description }
        if let enabledEvents { next.enabledEvents = enabledEvents }
        if let state {
            if state != current.state { next.disabledReason = "" }
            next.state = state
        }
        if next != current { next.updatedAt = now }
        return next
    }

    /// An optional string that may be sent as null (read as empty).
    private static func text(_ body: ObjectReader, _ key: String) throws(APIError) -> String? {
        switch try body.stringPatch(key) {
        case .absent: nil
        case .null: ""
        case .value(let value): value
        }
    }

    /// Checks each type against the catalogue and removes duplicates, keeping the first.
    static func checkEventTypes(_ types: [String], field: FieldPath) throws(APIError) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for (index, type) in types.enumerated() {
            guard WebhookEventType.accepted.contains(type) else {
                throw APIError.invalidRequest(
                    "\(field.index(index)): unknown event type '\(type)'; Reverie sends \(WebhookEventType.emitted.joined(separator: ", "))")
            }
            if seen.insert(type).inserted { result.append(type) }
        }
        return result
    }

    /// Checks a URL's form: absolute `https` (or `http` when allowed), a host, no credentials or fragment.
    public static func checkURL(_ url: String, field: FieldPath, allowPlainHTTP: Bool) throws(APIError) {
        try Rules.length(url, field, min: 1, max: WebhookEndpoint.maxURLLength)
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw APIError.invalidRequest("\(field): not a valid absolute URL")
        }
        switch scheme {
        case "https": break
        case "http":
            guard allowPlainHTTP else {
                throw APIError.invalidRequest("\(field): must be an https:// URL (plain http is accepted only when the server allows private-network receivers)")
            }
        default:
            throw APIError.invalidRequest("\(field): must be an https:// URL (got scheme '\(scheme)')")
        }
        guard let host = components.host, !host.isEmpty else { throw APIError.invalidRequest("\(field): the URL has no host") }
        if components.user != nil || components.password != nil {
            throw APIError.invalidRequest("\(field): must not contain credentials")
        }
        if components.fragment != nil { throw APIError.invalidRequest("\(field): must not contain a fragment") }
    }
}
