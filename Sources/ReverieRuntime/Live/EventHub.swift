import ReverieCore
import Synchronization

/// What live subscribers of a session receive: stored events, and transient previews of
/// events still being produced (`event_start`, `event_delta`).
public enum LiveItem: Sendable, Equatable {
    case event(StoredEvent)
    /// A preview frame (`event_start` or `event_delta`): the type of event it previews, the
    /// frame's type, and its JSON.
    case preview(of: EventType, frame: String, json: String)
}

/// Fans events out to live subscribers (SSE streams, waiting runtimes) as soon as they are
/// appended. The log in the store stays the truth: each item carries its sequence number,
/// so a subscriber that falls behind detects the gap and reads it from the store.
public final class EventHub: Sendable {
    private struct Subscribers: Sendable {
        var nextID: UInt64 = 0
        var bySession: [String: [UInt64: AsyncStream<LiveItem>.Continuation]] = [:]
    }

    private let subscribers = Mutex(Subscribers())
    private let bufferLimit: Int

    /// - Parameter bufferLimit: items buffered per slow subscriber before the oldest are
    ///   dropped (the subscriber then re-reads them from the store).
    public init(bufferLimit: Int = 4096) {
        self.bufferLimit = bufferLimit
    }

    /// Starts receiving a session's live items. Subscribe before reading the backlog from the
    /// store so nothing falls between the two. A subscriber that does not keep up loses the
    /// oldest buffered items beyond `bufferLimit` (default: the hub's); the newest is always
    /// kept, so it sees a gap in the sequence numbers and reads what it missed from the store.
    public func subscribe(sessionID: String, bufferLimit: Int? = nil) -> AsyncStream<LiveItem> {
        let limit = max(1, bufferLimit ?? self.bufferLimit)
        let (stream, continuation) = AsyncStream<LiveItem>.makeStream(bufferingPolicy: .bufferingNewest(limit))
        let id = subscribers.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.bySession[sessionID, default: [:]][id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.subscribers.withLock { state in
                state.bySession[sessionID]?[id] = nil
                if state.bySession[sessionID]?.isEmpty == true { state.bySession[sessionID] = nil }
            }
        }
        return stream
    }

    /// Delivers stored events to the session's subscribers.
    public func publish(_ events: [StoredEvent]) {
        guard let sessionID = events.first?.sessionID else { return }
        let targets = subscribers.withLock { Array(($0.bySession[sessionID] ?? [:]).values) }
        for continuation in targets {
            for event in events { continuation.yield(.event(event)) }
        }
    }

    /// Delivers a transient preview frame to the session's subscribers.
    public func publishPreview(sessionID: String, of type: EventType, frame: String, json: String) {
        let targets = subscribers.withLock { Array(($0.bySession[sessionID] ?? [:]).values) }
        for continuation in targets { continuation.yield(.preview(of: type, frame: frame, json: json)) }
    }

    /// Ends every subscription to a session (it was deleted).
    public func close(sessionID: String) {
        let targets = subscribers.withLock { $0.bySession.removeValue(forKey: sessionID).map { Array($0.values) } ?? [] }
        for continuation in targets { continuation.finish() }
    }

    /// Ends every subscription (shutdown).
    public func closeAll() {
        let targets = subscribers.withLock { state in
            defer { state.bySession = [:] }
            return state.bySession.values.flatMap(\.values)
        }
        for continuation in targets { continuation.finish() }
    }

    /// The number of live subscribers of a session.
    public func subscriberCount(sessionID: String) -> Int {
        subscribers.withLock { $0.bySession[sessionID]?.count ?? 0 }
    }
}
