import Synchronization

/// Lets `user.interrupt` stop a session loop promptly without cancelling the loop itself:
/// the loop runs each model call or tool through `perform`, and an interrupt cancels just
/// that operation, after which the loop records what happened and goes idle.
public final class LoopControl: Sendable {
    private struct State {
        var interrupted = false
        var wakeRequested = false
        var cancelCurrent: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether an interrupt arrived.
    public var isInterrupted: Bool { state.withLock { $0.interrupted } }

    /// Requests an interrupt: the current operation is cancelled, and events that arrived
    /// before the interrupt no longer ask for another run.
    public func interrupt() {
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            state.interrupted = true
            state.wakeRequested = false
            return state.cancelCurrent
        }
        cancel?()
    }

    /// Notes that new events arrived while the loop was running.
    public func requestWake() { state.withLock { $0.wakeRequested = true } }

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
