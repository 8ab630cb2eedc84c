import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime
import ServiceLifecycle

/// `GET /v1/sessions/{id}/events/stream`: Server-Sent Events.
///
/// Without `Last-Event-ID` the stream carries events appended after it opened. With it, the
/// stream first replays every event after that one from the store, then continues live.
/// Each frame is `event: <type>`, `id: <event id>`, `data: <event JSON>`; `event: ping`
/// frames keep idle connections open.
///
/// Memory per subscriber is bounded whatever the client does: at most `Settings.buffer` live
/// items wait for a slow client (older ones are dropped and re-read from the store when it
/// catches up). A subscriber more than `Settings.maxLag` events behind the log is
/// disconnected with a final comment (`: reverie: …`) and resumes with `Last-Event-ID`; one
/// that stops reading altogether is closed by `ConnectionGuard`'s write-stall timeout.
struct EventStream: Sendable {
    struct Settings: Sendable {
        var heartbeatSeconds: Double
        var buffer: Int
        var maxLag: Int

        init(_ configuration: ServerConfiguration) {
            heartbeatSeconds = configuration.heartbeatSeconds
            buffer = max(1, configuration.streamBufferEvents)
            maxLag = max(1, configuration.streamMaxLagEvents)
        }
    }

    let log: SessionLog
    let sessionID: String
    let startSequence: Int64
    let live: AsyncStream<LiveItem>
    let previews: Set<EventType>
    let settings: Settings
    /// Which events the stream carries (a thread's stream carries only that thread's).
    var includes: @Sendable (StoredEvent) -> Bool = { _ in true }

    static let replayBatch = 500

    static func open(log: SessionLog, sessionID: String, lastEventID: String?, previews: Set<EventType>, settings: Settings,
                     includes: @escaping @Sendable (StoredEvent) -> Bool = { _ in true })
        async throws -> EventStream
    {
        var resumeSequence: Int64?
        if let lastEventID, !lastEventID.isEmpty {
            guard let event = try await log.event(sessionID: sessionID, id: lastEventID) else {
                if try await log.header(id: sessionID) == nil { throw APIError.notFound("session", sessionID) }
                throw APIError.invalidRequest("Last-Event-ID: event '\(lastEventID)' is not in session '\(sessionID)'")
            }
            resumeSequence = event.sequence
        }
        // Subscribe before reading where the log ends, so no event falls in between.
        let live = log.hub.subscribe(sessionID: sessionID, bufferLimit: settings.buffer)
        guard let header = try await log.header(id: sessionID) else {
            throw APIError.notFound("session", sessionID)
        }
        return EventStream(
            log: log, sessionID: sessionID, startSequence: resumeSequence ?? header.state.lastSequence, live: live,
            previews: previews, settings: settings, includes: includes)
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .accelBuffering: "no"],
            body: ResponseBody { writer in
                try await run(&writer)
                try await writer.finish(nil)
            })
    }

    private enum Output: Sendable {
        case item(LiveItem)
        case ping
    }

    /// Ends the stream early: the subscriber fell too far behind.
    private struct FellBehind: Error {}

    private func run(_ writer: inout any ResponseBodyWriter) async throws {
        var cursor = startSequence
        do {
            try await stream(from: &cursor, to: &writer)
        } catch is FellBehind {
            let lastID = cursor > 0 ? try? await log.events(sessionID: sessionID, after: cursor - 1, limit: 1).first?.id : nil
            var comment = ": reverie: disconnected because this stream fell more than \(settings.maxLag) events behind the log; "
            comment += "reconnect with Last-Event-ID\(lastID.map { ": \($0)" } ?? "") to resume where it stopped\n\n"
            try await writer.write(ByteBuffer(string: comment))
        }
    }

    private func stream(from cursor: inout Int64, to writer: inout any ResponseBodyWriter) async throws {
        try await replay(after: &cursor, to: &writer)
        // Bounded like the live feed: when full, the oldest waiting items are dropped (events
        // missed that way are re-read from the store).
        let (outputs, continuation) = AsyncStream<Output>.makeStream(bufferingPolicy: .bufferingNewest(settings.buffer))
        let live = self.live
        let forwarder = Task {
            for await item in live { continuation.yield(.item(item)) }
            continuation.finish()
        }
        let interval = settings.heartbeatSeconds
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                if Task.isCancelled { break }
                continuation.yield(.ping)
            }
        }
        defer {
            forwarder.cancel()
            heartbeat.cancel()
            continuation.finish()
        }
        try await withGracefulShutdownHandler {
            try await writer.write(Self.frame(event: "ping", id: nil, data: #"{"type":"ping"}"#))
            for await output in outputs {
                switch output {
                case .ping:
                    try await writer.write(Self.frame(event: "ping", id: nil, data: #"{"type":"ping"}"#))
                case .item(.preview(let type, let frame, let json)):
                    if previews.contains(type) { try await writer.write(Self.frame(event: frame, id: nil, data: json)) }
                case .item(.event(let event)):
                    if event.sequence <= cursor { continue }
                    if event.sequence - cursor > Int64(settings.maxLag) { throw FellBehind() }
                    if event.sequence > cursor + 1 {
                        // We fell behind the live feed; the store has what we missed.
                        try await replay(after: &cursor, to: &writer, limit: settings.maxLag)
                        if event.sequence <= cursor { continue }
                    }
                    if includes(event) { try await writer.write(Self.frame(event: event.type.rawValue, id: event.id, data: event.json)) }
                    cursor = event.sequence
                }
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }

    /// Writes every stored event after `cursor`, advancing it. While catching up live (`limit`
    /// set), a subscriber further behind than that is cut off instead.
    private func replay(after cursor: inout Int64, to writer: inout any ResponseBodyWriter, limit: Int? = nil) async throws {
        while true {
            if let limit, let head = try await log.header(id: sessionID), head.state.lastSequence - cursor > Int64(limit) { throw FellBehind() }
            let batch = try await log.events(sessionID: sessionID, after: cursor, limit: Self.replayBatch)
            if batch.isEmpty { return }
            var buffer = ByteBuffer()
            for event in batch {
                if includes(event) { Self.append(event: event.type.rawValue, id: event.id, data: event.json, to: &buffer) }
                cursor = event.sequence
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
            if batch.count < Self.replayBatch { return }
        }
    }

    static func frame(event: String, id: String?, data: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        append(event: event, id: id, data: data, to: &buffer)
        return buffer
    }

    static func append(event: String, id: String?, data: String, to buffer: inout ByteBuffer) {
        buffer.writeString("event: ")
        buffer.writeString(event)
        if let id {
            buffer.writeString("\nid: ")
            buffer.writeString(id)
        }
        buffer.writeString("\ndata: ")
        buffer.writeString(data)
        buffer.writeString("\n\n")
    }
}
