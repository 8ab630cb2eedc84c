import ReverieCore
import Synchronization

/// Appends waiting for the writer. While one write transaction commits, the appends that
/// arrive queue up here and the next transaction takes all of them at once (group commit):
/// one transaction, one commit and one header update per session for a whole burst.
package final class EventAppendQueue: Sendable {
    /// One caller's append, with the continuation that answers it.
    package struct Request: Sendable {
        package let events: [SessionEvent]
        package let sessionID: String
        package let check: @Sendable (SessionHeader) throws -> Void
        package let cancellation: Cancellation
        package let continuation: CheckedContinuation<(SessionHeader, [StoredEvent]), any Error>

        package init(
            events: [SessionEvent], sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void, cancellation: Cancellation,
            continuation: CheckedContinuation<(SessionHeader, [StoredEvent]), any Error>
        ) {
            self.events = events
            self.sessionID = sessionID
            self.check = check
            self.cancellation = cancellation
            self.continuation = continuation
        }
    }

    /// Set when the caller's task is cancelled: an append not yet begun then never begins
    /// (as with a plain write), one already begun completes.
    package final class Cancellation: Sendable {
        private let flag = Atomic(false)
        package init() {}
        package func cancel() { flag.store(true, ordering: .relaxed) }
        package var isCancelled: Bool { flag.load(ordering: .relaxed) }
    }

    private struct State {
        var pending: [Request] = []
        var draining = false
        var counts = GroupCommitCounts()
    }

    private let state = Mutex(State())
    private let batchLimit: Int

    /// - Parameter batchLimit: the most appends one transaction takes.
    package init(batchLimit: Int = 256) {
        self.batchLimit = batchLimit
    }

    /// Queues a request; true when the caller must start draining (nobody else is).
    package func enqueue(_ request: Request) -> Bool {
        state.withLock { state in
            state.pending.append(request)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
    }

    /// Queues an append and waits for its result. The append that finds nobody draining starts
    /// `drain` (which commits batches until `nextBatch()` is nil); a cancelled caller's append
    /// is skipped if it has not been written yet.
    package func append(
        _ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void,
        drain: @escaping @Sendable () async -> Void
    ) async throws -> (SessionHeader, [StoredEvent]) {
        let cancellation = Cancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else { return continuation.resume(throwing: CancellationError()) }
                let request = Request(events: events, sessionID: sessionID, check: check, cancellation: cancellation, continuation: continuation)
                if enqueue(request) { Task { await drain() } }
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The next batch to commit, or nil (and draining stops) when the queue is empty.
    package func nextBatch() -> [Request]? {
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
    package func noteIsolatedRetry() {
        state.withLock { $0.counts.isolatedRetries += 1 }
    }

    package var counts: GroupCommitCounts {
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
