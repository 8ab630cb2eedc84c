import Synchronization

/// Wakes long polls when work arrives in their environment. Each environment has a
/// generation that every arrival bumps; a poll that found nothing waits until the generation
/// moves past the one it read before looking, or until its time is up, so an arrival between
/// the look and the wait is never missed.
final class WorkArrivals: Sendable {
    private struct Waiter {
        let environmentID: String
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var generations: [String: UInt64] = [:]
        var waiters: [UInt64: Waiter] = [:]
        /// Waits whose continuation is not registered yet.
        var unregistered: Set<UInt64> = []
        /// Waits that ended before their continuation was registered.
        var finished: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The environment's current generation.
    func generation(_ environmentID: String) -> UInt64 {
        state.withLock { $0.generations[environmentID, default: 0] }
    }

    /// Work arrived in `environmentID`: wake its waiting polls.
    func signal(_ environmentID: String) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generations[environmentID, default: 0] &+= 1
            let ids = state.waiters.filter { $0.value.environmentID == environmentID }.map(\.key)
            return ids.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when `environmentID` moves past `generation`, after `timeout`, or on cancellation.
    func wait(_ environmentID: String, after generation: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            state.unregistered.insert(state.nextID)
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        state.unregistered.remove(id)
                        if state.finished.remove(id) != nil || state.generations[environmentID, default: 0] != generation { return true }
                        state.waiters[id] = Waiter(environmentID: environmentID, continuation: continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            self.finish(id)
        }
    }

    private func finish(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter.continuation }
            if state.unregistered.remove(id) != nil { state.finished.insert(id) }
            return nil
        }
        continuation?.resume()
    }
}
