import ReverieCore
import ReverieStore

/// The loop's copy of a session's log, refreshed incrementally from the store.
struct EventLogView: Sendable {
    let platform: Platform
    let sessionID: String
    private(set) var all: [SessionEvent] = []
    private var lastSequence: Int64 = 0

    init(platform: Platform, sessionID: String) {
        self.platform = platform
        self.sessionID = sessionID
    }

    /// Reads events appended since the last refresh.
    mutating func refresh() async throws {
        while true {
            let batch = try await platform.store.events(sessionID: sessionID, after: lastSequence, limit: 1000)
            for stored in batch {
                all.append(try stored.event())
                lastSequence = stored.sequence
            }
            if batch.count < 1000 { return }
        }
    }

    /// The primary thread's events (those without a `session_thread_id`).
    var primary: [SessionEvent] { all.filter { $0.threadID == nil } }
}
