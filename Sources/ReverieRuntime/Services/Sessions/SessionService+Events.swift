import Foundation
import ReverieCore
import ReverieStore

extension SessionService {
    /// `POST /v1/sessions/{id}/events`: validates, stores, and hands the events to the runtime.
    public func sendEvents(sessionID: String, _ request: EventsSendRequest) async throws -> [StoredEvent] {
        var events = request.events
        guard let header = try await store.sessionHeader(id: sessionID) else { throw APIError.notFound("session", sessionID) }
        if header.status == .terminated { try await refuseEventsIfImported(sessionID: sessionID) }
        try Self.checkAcceptsEvents(header)
        if events.contains(where: { $0.type == .userToolResult }) {
            let environment = try await store.environment(id: header.environmentID)
            if environment?.config != .selfHosted {
                throw APIError.invalidRequest("events: user.tool_result is only accepted in sessions on a self_hosted environment")
            }
        }
        events = try await placeToolResults(events, sessionID: sessionID)
        if events.contains(where: { $0.type == .userDefineOutcome }), let active = header.state.activeOutcome {
            throw APIError.invalidRequest("events: outcome '\(active.outcomeID)' is still being worked on; one outcome runs at a time")
        }
        try await checkThreadReferences(events, sessionID: sessionID)
        try await driver.validate(events, for: header)
        let now = Timestamp.now()
        for index in events.indices { events[index].processedAt = now }
        let definesOutcome = events.contains(where: { $0.type == .userDefineOutcome })
        let (after, stored) = try await log.append(events, to: sessionID) { current in
            try Self.checkAcceptsEvents(current)
            if definesOutcome, let active = current.state.activeOutcome {
                throw APIError.invalidRequest("events: outcome '\(active.outcomeID)' is still being worked on; one outcome runs at a time")
            }
        }
        await driver.eventsAppended(stored, session: after)
        return stored
    }

    /// `GET /v1/sessions/{id}/events`.
    public func listEvents(sessionID: String, filter: EventFilter, page: PageRequest) async throws -> Page<StoredEvent> {
        try await store.listEvents(sessionID: sessionID, filter: filter, page: page)
    }

    static func checkAcceptsEvents(_ header: SessionHeader) throws(APIError) {
        if header.archivedAt != nil { throw APIError.archived("session", header.id) }
        if header.status == .terminated {
            throw APIError.invalidRequest("session '\(header.id)' is terminated and accepts no more events")
        }
    }
}
