import ReverieCore
import ReverieStore

/// A thread loop's copy of its own events, refreshed incrementally from the session's log.
/// Other threads' events are skipped without being decoded.
struct ThreadLogView: Sendable {
    let platform: Platform
    let sessionID: String
    let threadID: String
    private(set) var events: [SessionEvent] = []
    private var lastSequence: Int64 = 0

    init(platform: Platform, sessionID: String, threadID: String) {
        self.platform = platform
        self.sessionID = sessionID
        self.threadID = threadID
    }

    /// Reads the thread's events appended since the last refresh.
    mutating func refresh() async throws {
        while true {
            let batch = try await platform.store.events(sessionID: sessionID, after: lastSequence, limit: 1000)
            for stored in batch {
                if stored.threadID == threadID { events.append(try stored.event()) }
                lastSequence = stored.sequence
            }
            if batch.count < 1000 { return }
        }
    }
}
