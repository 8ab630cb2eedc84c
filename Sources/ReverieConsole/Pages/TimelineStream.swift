import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime
import ServiceLifecycle

/// `GET /console/sessions/{id}/live`: Server-Sent Events carrying timeline entries already
/// rendered as HTML (`event: entry`, `id: <sequence>`), and `event: status` with the session's
/// new status. It replays what follows `after` (or `Last-Event-ID`, which the browser sends
/// when it reconnects) from the store, then follows the live log. At most `buffer` live events
/// wait for a slow browser; when some were dropped the gap is re-read from the store.
struct TimelineStream: Sendable {
    let console: Console
    let sessionID: String
    let after: Int64
    let thread: String?
    let live: AsyncStream<LiveItem>
    let threads: [SessionThread]
    let threadNames: [String: String]

    static let buffer = 256
    static let replayBatch = 200

    static func open(console: Console, sessionID: String, after: Int64, thread: String?) async throws -> TimelineStream {
        let live = console.platform.log.hub.subscribe(sessionID: sessionID, bufferLimit: buffer)
        guard try await console.platform.log.header(id: sessionID) != nil else { throw APIError.notFound("session", sessionID) }
        let threads = try await console.platform.sessions.listThreads(sessionID: sessionID, statuses: [], page: PageRequest(limit: 100, order: .ascending))
        return TimelineStream(
            console: console, sessionID: sessionID, after: after, thread: thread, live: live, threads: threads.items,
            threadNames: Dictionary(threads.items.map { ($0.id, $0.agent.name) }, uniquingKeysWith: { first, _ in first }))
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                try await run(&writer)
                try await writer.finish(nil)
            })
    }

    private enum Output: Sendable {
        case event(StoredEvent)
        case ping
    }

    private func run(_ writer: inout any ResponseBodyWriter) async throws {
        var cursor = after
        try await writer.write(ByteBuffer(string: "retry: 2000\n: reverie console\n\n"))
        try await replay(after: &cursor, to: &writer)
        let (outputs, continuation) = AsyncStream<Output>.makeStream(bufferingPolicy: .bufferingNewest(Self.buffer))
        let live = self.live
        let forwarder = Task {
            for await item in live {
                if case .event(let event) = item { continuation.yield(.event(event)) }
            }
            continuation.finish()
        }
        let interval = console.heartbeat
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
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
            for await output in outputs {
                switch output {
                case .ping:
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                case .event(let event):
                    if event.sequence <= cursor { continue }
                    if event.sequence > cursor + 1 {
                        try await replay(after: &cursor, to: &writer)
                        if event.sequence <= cursor { continue }
                    }
                    try await writer.write(await frames(for: [event]))
                    cursor = event.sequence
                }
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }

    private func replay(after cursor: inout Int64, to writer: inout any ResponseBodyWriter) async throws {
        while true {
            let batch = try await console.platform.log.events(sessionID: sessionID, after: cursor, limit: Self.replayBatch)
            if batch.isEmpty { return }
            try await writer.write(await frames(for: batch))
            cursor = batch[batch.count - 1].sequence
            if batch.count < Self.replayBatch { return }
        }
    }

    private func frames(for events: [StoredEvent]) async -> ByteBuffer {
        var buffer = ByteBuffer()
        for event in events {
            if event.type.rawValue.hasPrefix("session.status_"), event.threadID == nil {
                let status = event.type.rawValue.replacingOccurrences(of: "session.status_", with: "")
                buffer.writeString("event: status\ndata: \(status == "rescheduled" ? "rescheduling" : status)\n\n")
            }
            guard Console.belongs(event, to: thread, threads: threads) else {
                buffer.writeString("id: \(event.sequence)\n: skipped\n\n")
                continue
            }
            let entries = (try? await Console.entries([event], threadNames: threadNames, log: console.platform.log)) ?? []
            for entry in entries {
                // A carriage return would end an SSE line early; HTML needs none.
                let html = console.templates.render("entry", entry).replacingOccurrences(of: "\r", with: "")
                buffer.writeString("event: entry\nid: \(event.sequence)\n")
                for line in html.split(separator: "\n", omittingEmptySubsequences: false) {
                    buffer.writeString("data: ")
                    buffer.writeSubstring(line)
                    buffer.writeString("\n")
                }
                buffer.writeString("\n")
            }
        }
        return buffer
    }
}
