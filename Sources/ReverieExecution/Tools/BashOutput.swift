import Synchronization

/// The bytes a bash process writes (stdout and stderr together), collected by its reader
/// thread and taken by the session a command at a time.
///
/// At most `retainedBytes` of one command's output are kept from its start, and the latest
/// `tailBytes` after that; what falls between is counted, not kept, so a runaway command
/// cannot exhaust memory before its timeout.
final class BashOutput: Sendable {
    /// What a finished command wrote.
    struct Taken: Sendable {
        var bytes: [UInt8]
        /// Bytes dropped from the middle because the output exceeded the retained size.
        var droppedBytes: Int
    }

    private struct State {
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var overflowed = false
        var dropped = 0
        /// How much of `head` was already searched for the marker.
        var scanned = 0
        var finished = false
        var stopRequested = false
        var generation = 0
        var waiters: [CheckedContinuation<Void, Never>] = []

        /// Marks a change and hands back the waiters to resume (outside the lock).
        mutating func bump() -> [CheckedContinuation<Void, Never>] {
            generation += 1
            defer { waiters = [] }
            return waiters
        }
    }

    private let state = Mutex(State())
    let retainedBytes: Int
    let tailBytes: Int

    init(retainedBytes: Int, tailBytes: Int = 64 << 10) {
        self.retainedBytes = max(1024, retainedBytes)
        self.tailBytes = max(1024, tailBytes)
    }

    // MARK: Reader thread side

    func append(_ chunk: ArraySlice<UInt8>) {
        let waiters = state.withLock { state in
            if !state.overflowed, state.head.count + chunk.count <= retainedBytes {
                state.head.append(contentsOf: chunk)
            } else {
                if !state.overflowed {
                    // Keep the head's last bytes with the tail, so a marker cannot straddle the two.
                    state.overflowed = true
                    let carried = min(state.head.count, 256)
                    state.tail = Array(state.head.suffix(carried))
                    state.head.removeLast(carried)
                }
                state.tail.append(contentsOf: chunk)
                if state.tail.count > tailBytes {
                    let excess = state.tail.count - tailBytes
                    state.tail.removeFirst(excess)
                    state.dropped += excess
                }
            }
            return state.bump()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The reader reached the end of the pipe (every writer closed it).
    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            return state.bump()
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether the reader thread should stop now.
    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    // MARK: Session side

    func requestStop() {
        state.withLock { $0.stopRequested = true }
    }

    var isFinished: Bool { state.withLock { $0.finished } }
    var generation: Int { state.withLock { $0.generation } }

    /// Wakes anyone waiting, so they re-check deadlines and the process.
    func wake() {
        let waiters = state.withLock { $0.bump() }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once anything changed after `generation`.
    func changed(since generation: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.generation != generation { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// When the output holds `marker` followed by a status and a newline: the output before
    /// the marker and the status. The bytes after the marker line stay for the next command.
    func take(through marker: [UInt8]) -> (Taken, Int32)? {
        state.withLock { state -> (Taken, Int32)? in
            if state.overflowed {
                guard let (start, end, status) = Self.find(marker, in: state.tail, from: 0) else { return nil }
                let taken = Taken(bytes: state.head + state.tail[..<start], droppedBytes: state.dropped)
                state.head = Array(state.tail[end...])
                state.tail = []
                state.overflowed = false
                state.dropped = 0
                state.scanned = 0
                return (taken, status)
            }
            let from = max(0, state.scanned - marker.count - 16)
            guard let (start, end, status) = Self.find(marker, in: state.head, from: from) else {
                state.scanned = state.head.count
                return nil
            }
            let taken = Taken(bytes: Array(state.head[..<start]), droppedBytes: 0)
            state.head = Array(state.head[end...])
            state.scanned = 0
            return (taken, status)
        }
    }

    /// Everything collected so far (after a timeout or the shell's exit).
    func takeAll() -> Taken {
        state.withLock { state in
            let taken = Taken(bytes: state.head + state.tail, droppedBytes: state.dropped)
            state.head = []
            state.tail = []
            state.overflowed = false
            state.dropped = 0
            state.scanned = 0
            return taken
        }
    }

    /// The marker's start, the index after its line, and the status on it.
    private static func find(_ marker: [UInt8], in bytes: [UInt8], from: Int) -> (Int, Int, Int32)? {
        guard from < bytes.count, let range = bytes[from...].firstRange(of: marker) else { return nil }
        guard let newline = bytes[range.upperBound...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let digits = bytes[range.upperBound..<newline]
        let status = Int32(String(decoding: digits, as: UTF8.self)) ?? -1
        return (range.lowerBound, newline + 1, status)
    }
}
