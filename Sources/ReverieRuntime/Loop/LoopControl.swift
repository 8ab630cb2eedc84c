import Synchronization

/// Lets `user.interrupt` stop a session loop promptly without cancelling the loop itself:
/// the loop runs each model call or tool through `perform`, and an interrupt cancels just
/// that operation, after which the loop records what happened and goes idle.
public final class LoopControl: Sendable {
    private struct State {
        var interrupted = false
        var wakeRequested = false
        var cancelCurrent: (@Sendable () -> Void)?
        /// A loop waiting in `waitForWake`.
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether an interrupt arrived.
    public var isInterrupted: Bool { state.withLock { $0.interrupted } }

    /// Requests an interrupt: the current operation is cancelled, and events that arrived
    /// before the interrupt no longer ask for another run.
    public func interrupt() {
        let (cancel, waiter) = state.withLock { state -> ((@Sendable () -> Void)?, CheckedContinuation<Void, Never>?) in
            state.interrupted = true
            state.wakeRequested = false
            defer { state.waiter = nil }
            return (state.cancelCurrent, state.waiter)
        }
        cancel?()
        waiter?.resume()
    }

    /// Notes that new events arrived while the loop was running, or wakes it when it waits in
    /// `waitForWake` (then it takes the wake itself, and this returns true).
    @discardableResult
    public func requestWake() -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            // A waiting loop takes the wake itself; otherwise it is noted for the next check.
            guard let waiter = state.waiter else {
                state.wakeRequested = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
        return waiter != nil
    }

    /// Waits until new events arrive or an interrupt does, returning at once when one came since
    /// the last wait (and taking the wake note). Throws `CancellationError` when the task is cancelled.
    public func waitForWake() async throws {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.wakeRequested || state.interrupted || Task.isCancelled {
                        state.wakeRequested = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        try Task.checkCancellation()
    }

    /// Whether events arrived since the last call (and clears the note).
    public func takeWakeRequest() -> Bool {
        state.withLock { state in
            defer { state.wakeRequested = false }
            return state.wakeRequested
        }
    }

    /// Runs `operation` so that an interrupt cancels it. Throws `CancellationError` when
    /// interrupted (before or during the operation).
    public func perform<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await operation() }
        let alreadyInterrupted = state.withLock { state -> Bool in
            state.cancelCurrent = { task.cancel() }
            return state.interrupted
        }
        if alreadyInterrupted { task.cancel() }
        defer { state.withLock { $0.cancelCurrent = nil } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }
}
