import NIOCore
import Synchronization

/// The connections an `AcceptLoop` is serving, so stopping can close them all; once closing has
/// begun, or `limit` are open, no connection is admitted.
final class OpenConnections: Sendable {
    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = .max) {
        self.limit = limit
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var isClosing = false
    }

    /// Records `channel`; false (and the channel is left to the caller to close) once closing has
    /// begun or when `limit` connections are open.
    func admit(_ channel: any Channel) -> Bool {
        state.withLock { state in
            guard !state.isClosing, state.channels.count < limit else { return false }
            state.channels[ObjectIdentifier(channel)] = channel
            return true
        }
    }

    /// Forgets a channel whose handler has returned.
    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Admits nothing more and closes every recorded channel.
    func closeAll() {
        let channels = state.withLock { state -> [any Channel] in
            state.isClosing = true
            return Array(state.channels.values)
        }
        for channel in channels { channel.close(promise: nil) }
    }
}
