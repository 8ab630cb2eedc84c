import ReverieCore
import Synchronization

/// Appends waiting for the writer. While one write transaction commits, the appends that
/// arrive queue up here and the next transaction takes all of them at once (group commit):
/// one transaction, one commit and one header update per session for a whole burst.
final class EventAppendQueue: Sendable {
    /// One caller's append, with the continuation that answers it.
    struct Request: Sendable {
        let events: [SessionEvent]
        let sessionID: String
        let check: @Sendable (SessionHeader) throws -> Void
        let cancellation: Cancellation
        let continuation: CheckedContinuation<(SessionHeader, [StoredEvent]), any Error>
    }

    /// Set when the caller's task is cancelled: an append not yet begun then never begins
    /// (as with a plain write), one already begun completes.
    final class Cancellation: Sendable {
        private let flag = Atomic(false)
        init() {}
        func cancel() { flag.store(true, ordering: .relaxed) }
        var isCancelled: Bool { flag.load(ordering: .relaxed) }
    }

    private struct State {
        var pending: [Request] = []
        var draining = false
        var counts = GroupCommitCounts()
    }

    private let state = Mutex(State())
    private let batchLimit: Int

    /// - Parameter batchLimit: the most appends one transaction takes.
    init(batchLimit: Int = 256) {
        self.batchLimit = batchLimit
    }

    /// Queues a request; true when the caller must start draining (nobody else is).
    func enqueue(_ request: Request) -> Bool {
        state.withLock { state in
            state.pending.append(request)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
    }

    /// The next batch to commit, or nil (and draining stops) when the queue is empty.
    func nextBatch() -> [Request]? {
        state.withLock { state in
            guard !state.pending.isEmpty else {
                state.draining = false
                return nil
            }
            let count = min(batchLimit, state.pending.count)
            let batch = Array(state.pending.prefix(count))
            state.pending.removeFirst(count)
            state.counts.batches += 1
            state.counts.largestBatch = max(state.counts.largestBatch, count)
            return batch
        }
    }

    /// Notes a batch that had to run again with a savepoint per append.
    func noteIsolatedRetry() {
        state.withLock { $0.counts.isolatedRetries += 1 }
    }

    var counts: GroupCommitCounts {
        state.withLock { state in
            var counts = state.counts
            counts.waiting = state.pending.count
            return counts
        }
    }
}

/// What group commit did so far (tests check that batches really form).
public struct GroupCommitCounts: Sendable, Equatable {
    /// Write transactions that committed queued appends.
    public var batches = 0
    /// The most appends one of them took.
    public var largestBatch = 0
    /// Batches run again with a savepoint per append, after an append failed while writing.
    public var isolatedRetries = 0
    /// Appends queued right now for the next transaction.
    public var waiting = 0

    public init() {}
}
