import ReverieCore
import ReverieStore

/// The loop's copy of a session's log, kept up to date incrementally: events the loop
/// appends itself are added as they are stored (not read back), other writers' events are
/// read from the store by `refresh()`. The primary thread's events, its `TurnState` and its
/// `Conversation` are updated as events arrive, so no step re-reads or re-folds the log.
///
/// Used by one loop task only (not shared).
final class EventLogView {
    let platform: Platform
    let sessionID: String
    /// The primary thread's events (those without a `session_thread_id`).
    private(set) var primary: [SessionEvent] = []
    /// Where the primary thread's turn stands.
    private(set) var turn = TurnState(events: [])
    /// The primary thread's conversation, as the model is sent it.
    private(set) var conversation = Conversation()
    private var lastSequence: Int64 = 0

    init(platform: Platform, sessionID: String) {
        self.platform = platform
        self.sessionID = sessionID
    }

    /// Reads events appended since the last refresh.
    func refresh() async throws {
        while true {
            let batch = try await platform.store.events(sessionID: sessionID, after: lastSequence, limit: 1000)
            for stored in batch { add(try stored.event(), sequence: stored.sequence) }
            if batch.count < 1000 { return }
        }
    }

    /// Appends events to the log (through the platform, so they are published live) and
    /// adds them here; when another writer appended in between, the next `refresh()` reads
    /// everything from the store instead.
    @discardableResult
    func append(_ events: [SessionEvent]) async throws -> [StoredEvent] {
        let (_, stored) = try await platform.append(events, to: sessionID)
        if stored.count == events.count, stored.first?.sequence == lastSequence + 1 {
            for (event, record) in zip(events, stored) {
                var event = event
                event.processedAt = record.processedAt
                add(event, sequence: record.sequence)
            }
        }
        return stored
    }

    private func add(_ event: SessionEvent, sequence: Int64) {
        guard sequence > lastSequence else { return }
        lastSequence = sequence
        if event.threadID == nil {
            primary.append(event)
            turn.apply(event)
            conversation.add(event)
        }
    }
}
