import ReverieCore
import ReverieStore

/// A loop's copy of one thread of a session's log, kept up to date incrementally: events the
/// loop appends itself are added as they are stored (not read back), other writers' events
/// are read by `refresh()`. The thread's events, its `TurnState` and its `Conversation` are
/// updated as events arrive, so no step re-reads or re-folds the log. Other threads' events
/// are skipped without being decoded.
///
/// Used by one loop task only (not shared).
final class EventLogView {
    let log: SessionLog
    let sessionID: String
    /// The thread this view follows: nil for the session's primary thread.
    let threadID: String?
    /// The thread's events.
    private(set) var events: [SessionEvent] = []
    /// Where the thread's turn stands.
    private(set) var turn = TurnState(events: [])
    /// The thread's conversation, as the model is sent it.
    private(set) var conversation = Conversation()
    private var lastSequence: Int64 = 0

    init(log: SessionLog, sessionID: String, threadID: String?) {
        self.log = log
        self.sessionID = sessionID
        self.threadID = threadID
    }

    /// Reads events appended since the last refresh.
    func refresh() async throws {
        while true {
            let batch = try await log.events(sessionID: sessionID, after: lastSequence, limit: 1000)
            for stored in batch {
                if stored.threadID == threadID {
                    add(try stored.event(), sequence: stored.sequence)
                } else {
                    lastSequence = max(lastSequence, stored.sequence)
                }
            }
            if batch.count < 1000 { return }
        }
    }

    /// Appends events to the thread (tagged with its `session_thread_id`; published live) and
    /// adds them here; when another writer appended in between, the next `refresh()` reads
    /// everything from the store instead.
    @discardableResult
    func append(_ events: [SessionEvent]) async throws -> [StoredEvent] {
        let tagged = events.map { event -> SessionEvent in
            var event = event
            event.threadID = threadID
            return event
        }
        let (_, stored) = try await log.append(tagged, to: sessionID)
        if stored.count == tagged.count, stored.first?.sequence == lastSequence + 1 {
            for (event, record) in zip(tagged, stored) {
                var event = event
                event.processedAt = record.processedAt
                add(event, sequence: record.sequence)
            }
        }
        return stored
    }

    /// Compactions since the model last produced a message or a tool call.
    var compactionsSinceLastReply: Int {
        var count = 0
        for event in events.reversed() {
            switch event.type {
            case .agentThreadContextCompacted: count += 1
            case .agentMessage, .agentToolUse, .agentCustomToolUse, .agentMCPToolUse: return count
            default: continue
            }
        }
        return count
    }

    private func add(_ event: SessionEvent, sequence: Int64) {
        guard sequence > lastSequence else { return }
        lastSequence = sequence
        events.append(event)
        turn.apply(event)
        conversation.add(event)
    }
}
