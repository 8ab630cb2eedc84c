import Foundation
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime
import ReverieStore

extension Console {
    /// The sessions list, a session's timeline (first screen rendered, the rest streamed), and
    /// its actions: send a message, interrupt, confirm or deny a tool call.
    func registerSessions<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/sessions") { request, context in
            await self.guardedPage(request, context) { signedIn in try await self.sessionsPage(request, signedIn) }
        }
        router.get("console/sessions/:session_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                try await self.timelinePage(request, id: context.parameters.get("session_id") ?? "", signedIn)
            }
        }
        router.get("console/sessions/:session_id/events/:event_id") { request, context in
            await self.guardedPage(request, context) { _ in
                let sessionID = context.parameters.get("session_id") ?? "", eventID = context.parameters.get("event_id") ?? ""
                guard let event = try await self.platform.log.event(sessionID: sessionID, id: eventID) else {
                    throw APIError.notFound("event", eventID)
                }
                let before = event.sequence + Int64(self.configuration.timelineWindow / 2)
                return Self.redirect(to: "/console/sessions/\(urlEncoded(sessionID))?before=\(before)#ev-\(urlEncoded(eventID))")
            }
        }
        router.get("console/sessions/:session_id/live") { request, context in
            await self.guardedPage(request, context) { _ in
                let id = context.parameters.get("session_id") ?? ""
                let resume = request.headers[.consoleLastEventID].flatMap { Int64($0) } ?? request.uri.queryParameters.get("after").flatMap { Int64($0) }
                return try await TimelineStream.open(
                    console: self, sessionID: id, after: resume ?? 0, thread: request.uri.queryParameters.get("thread").flatMap { $0.isEmpty ? nil : $0 }
                ).response()
            }
        }
        router.post("console/sessions/:session_id/message") { request, context in
            await self.guardedAction(request, context) { _, form in
                let id = context.parameters.get("session_id") ?? ""
                guard let text = form.nonEmpty("text") else { throw APIError.invalidRequest("text: write a message to send") }
                try await self.send(["type": "user.message", "content": [["type": "text", "text": .string(text)]]], to: id)
                return Self.redirect(to: "/console/sessions/\(urlEncoded(id))")
            }
        }
        router.post("console/sessions/:session_id/interrupt") { request, context in
            await self.guardedAction(request, context) { _, form in
                let id = context.parameters.get("session_id") ?? ""
                var event: [String: JSONValue] = ["type": "user.interrupt"]
                if let thread = form.nonEmpty("thread") { event["session_thread_id"] = .string(thread) }
                try await self.send(event, to: id)
                return Self.redirect(to: "/console/sessions/\(urlEncoded(id))")
            }
        }
        router.post("console/sessions/:session_id/confirm") { request, context in
            await self.guardedAction(request, context) { _, form in
                let id = context.parameters.get("session_id") ?? ""
                var event: [String: JSONValue] = [
                    "type": "user.tool_confirmation", "tool_use_id": .string(form.nonEmpty("tool_use_id") ?? ""),
                    "result": .string(form.nonEmpty("result") ?? ""),
                ]
                if form.string("result") == "deny", let message = form.nonEmpty("deny_message") { event["deny_message"] = .string(message) }
                if let thread = form.nonEmpty("thread") { event["session_thread_id"] = .string(thread) }
                try await self.send(event, to: id)
                return Self.redirect(to: "/console/sessions/\(urlEncoded(id))")
            }
        }
    }

    /// Sends one event through the same service and validation as `POST /v1/sessions/{id}/events`.
    private func send(_ event: [String: JSONValue], to sessionID: String) async throws {
        let request = try EventsSendRequest(try ObjectReader(.object(["events": .array([.object(event)])])))
        _ = try await platform.sessions.sendEvents(sessionID: sessionID, request)
    }

    private func sessionsPage(_ request: Request, _ signedIn: SignedIn) async throws -> Response {
        let query = request.uri.queryParameters
        let status = query.get("status").flatMap { $0.isEmpty ? nil : $0 }
        var statuses: Set<SessionStatus> = []
        if let status {
            guard let parsed = SessionStatus(rawValue: status) else { throw APIError.invalidRequest("status: unknown status '\(status)'") }
            statuses.insert(parsed)
        }
        let agentID = query.get("agent").flatMap { $0.isEmpty ? nil : $0 }
        let after = query.get("created_after").flatMap { $0.isEmpty ? nil : $0 }
        let before = query.get("created_before").flatMap { $0.isEmpty ? nil : $0 }
        var range = TimeRange.unbounded
        if let after {
            guard let date = Self.day(after) else { throw APIError.invalidRequest("created_after: expected a date like 2026-01-31") }
            range.lowerBound = Timestamp.micros(date)
        }
        if let before {
            guard let date = Self.day(before) else { throw APIError.invalidRequest("created_before: expected a date like 2026-01-31") }
            range.upperBound = Timestamp.micros(date.addingTimeInterval(86_400))
            range.upperInclusive = false
        }
        var pageRequest = PageRequest(limit: 50)
        if let token = query.get("page"), !token.isEmpty { pageRequest.cursor = try Cursor(token: token) }
        let listing = try await platform.sessions.listSessions(
            SessionFilter(agentID: agentID, statuses: statuses, createdAt: range), page: pageRequest)
        let agents = try await platform.agents.listAgents(AgentFilter(), page: PageRequest(limit: 100))
        let agentNames = Dictionary(agents.items.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        var filterQuery = ""
        for (name, value) in [("status", status), ("agent", agentID), ("created_after", after), ("created_before", before)] {
            if let value { filterQuery += "&\(name)=\(urlEncoded(value))" }
        }
        let rows: [[String: Any]] = listing.items.map { session in
            ["id": session.id, "title": session.title ?? "", "status": session.status.rawValue,
             "agent": agentNames[session.agent.id] ?? session.agent.id, "agentID": session.agent.id,
             "created": DisplayFormat.shortDate(session.createdAt), "usage": DisplayFormat.tokens(session.usage)]
        }
        return page("sessions", title: "Sessions", section: .sessions, signedIn: signedIn, data: [
            "sessions": rows, "empty": rows.isEmpty,
            "statuses": SessionStatus.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == status] },
            "agents": agents.items.map { ["id": $0.id, "name": $0.name, "selected": $0.id == agentID] },
            "createdAfter": after ?? "", "createdBefore": before ?? "",
            "next": listing.next.map { "/console/sessions?page=\(urlEncoded($0.token))" + filterQuery } ?? "",
        ])
    }

    static func day(_ text: String) -> Date? {
        Timestamp.parse(text + "T00:00:00Z")
    }

    private func timelinePage(_ request: Request, id: String, _ signedIn: SignedIn) async throws -> Response {
        let session = try await platform.sessions.session(id: id)
        guard let header = try await platform.log.header(id: id) else { throw APIError.notFound("session", id) }
        let query = request.uri.queryParameters
        let thread = query.get("thread").flatMap { $0.isEmpty ? nil : $0 }
        let last = header.state.lastSequence
        let window = Int64(configuration.timelineWindow)
        let before = max(1, min(query.get("before").flatMap { Int64($0) } ?? (last + 1), last + 1))
        let start = max(0, before - 1 - window)
        let events = try await platform.log.events(sessionID: id, after: start, limit: Int(before - 1 - start))
        let threads = try await platform.sessions.listThreads(sessionID: id, statuses: [], page: PageRequest(limit: 100, order: .ascending))
        let threadNames = Dictionary(threads.items.map { ($0.id, $0.agent.name) }, uniquingKeysWith: { first, _ in first })
        let entries = try await Self.entries(events.filter { thread == nil || Self.belongs($0, to: thread, threads: threads.items) },
                                             threadNames: threadNames, log: platform.log)
        let isLive = before > last
        return page("session", title: session.title.map { "\($0) · session" } ?? id, section: .sessions, signedIn: signedIn, data: [
            "id": id, "title": session.title ?? "", "status": session.status.rawValue, "agentID": session.agent.id,
            "agentName": session.agent.name, "created": DisplayFormat.shortDate(session.createdAt),
            "usage": DisplayFormat.tokens(session.usage), "entries": entries, "empty": entries.isEmpty, "live": isLive,
            "after": Int(isLive ? last : before - 1), "thread": thread ?? "",
            "earlier": start > 0 ? "/console/sessions/\(urlEncoded(id))?before=\(start + 1)" + (thread.map { "&thread=\(urlEncoded($0))" } ?? "") : "",
            "later": isLive ? "" : "/console/sessions/\(urlEncoded(id))" + (thread.map { "?thread=\(urlEncoded($0))" } ?? ""),
            "threads": threads.items.count > 1 ? threads.items.map { item -> [String: Any] in
                ["id": item.id, "name": (item.isPrimary ? "primary · " : "") + item.agent.name, "status": item.status.rawValue,
                 "current": item.id == thread]
            } : [],
            "allThreads": thread == nil,
            "outcomes": session.outcomeEvaluations.map { outcome -> [String: Any] in
                ["description": outcome.description, "iteration": outcome.iteration, "result": outcome.result, "explanation": outcome.explanation ?? ""]
            },
        ])
    }

    /// Whether an event belongs to the thread tab `thread` (the primary thread's events carry no thread id).
    static func belongs(_ event: StoredEvent, to thread: String?, threads: [SessionThread]) -> Bool {
        guard let thread else { return true }
        if let primary = threads.first(where: \.isPrimary), primary.id == thread { return event.threadID == nil || event.threadID == thread }
        return event.threadID == thread
    }

    /// Timeline entries for a run of events, each tool result folded into its tool call and
    /// each answered permission request marked answered.
    static func entries(_ events: [StoredEvent], threadNames: [String: String], log: SessionLog) async throws -> [[String: Any]] {
        var starts: [String: Date] = [:]
        for event in events where event.type == .spanModelRequestStart { starts[event.id] = event.processedAt }
        var built: [TimelineEntry] = []
        built.reserveCapacity(events.count)
        for event in events {
            built.append(await TimelineEntry(event, threadNames: threadNames) { id in
                if let date = starts[id] { return date }
                return try? await log.event(sessionID: event.sessionID, id: id)?.processedAt
            })
        }
        var toolIndex: [String: Int] = [:]
        var kept: [[String: Any]] = []
        for entry in built {
            if entry.kind == "tool" {
                toolIndex[entry.event.id] = kept.count
                kept.append(entry.data)
            } else if let toolUseID = entry.toolUseID, let index = toolIndex[toolUseID] {
                if entry.kind == "result" {
                    kept[index]["result"] = entry.data
                } else {
                    kept[index]["answered"] = true
                    kept.append(entry.data)
                }
            } else {
                kept.append(entry.data)
            }
        }
        return kept
    }
}
