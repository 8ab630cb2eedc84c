/// A store several Reverie processes share (PostgreSQL). The runtime uses it to decide which
/// process runs what, and to hear about events other processes append.
///
/// A process holds leases while it heartbeats: once it stops (crash, `kill -9`) for longer
/// than `leaseTTL`, any other process may take its leases over. A store used by one process
/// (SQLite) does not implement this; that process owns everything.
public protocol SharedStore: Sendable {
    /// This process's identity as a lease owner.
    var processID: String { get }
    /// How long a process keeps its leases after its last heartbeat.
    var leaseTTL: Duration { get }
    /// Records that this process is alive, keeping its leases.
    func heartbeat() async throws
    /// Takes the leases of `keys` that are free, ours already, or held by a process that
    /// stopped heartbeating; returns the keys this process now holds. Atomic per key: of two
    /// processes asking at once, one gets it.
    func acquireLeases(_ keys: [String]) async throws -> Set<String>
    /// Gives up leases this process holds.
    func releaseLeases(_ keys: [String]) async throws
    /// Gives up every lease this process holds and its heartbeat (a graceful shutdown), so
    /// other processes take its work over at once.
    func releaseAllLeases() async throws
    /// Events committed by any process, announced after each commit (the process's own too).
    func eventAnnouncements() -> AsyncStream<EventAnnouncement>
}

/// Lease names.
public enum LeaseKey {
    /// The right to run a session's loop (and its threads).
    public static func session(_ id: String) -> String { "session:" + id }
    /// The right to run a dream.
    public static func dream(_ id: String) -> String { "dream:" + id }
    /// The right to run an evaluation.
    public static func evaluation(_ id: String) -> String { "evaluation:" + id }
}

/// What a process announces after committing events of a session.
public struct EventAnnouncement: Sendable, Equatable {
    public var sessionID: String
    public var firstSequence: Int64
    public var lastSequence: Int64
    /// The process that appended them.
    public var origin: String

    public init(sessionID: String, firstSequence: Int64, lastSequence: Int64, origin: String) {
        self.sessionID = sessionID
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.origin = origin
    }

    /// `session first last origin`.
    public var payload: String { "\(sessionID) \(firstSequence) \(lastSequence) \(origin)" }

    public init?(payload: String) {
        let parts = payload.split(separator: " ")
        guard parts.count == 4, let first = Int64(parts[1]), let last = Int64(parts[2]) else { return nil }
        self.init(sessionID: String(parts[0]), firstSequence: first, lastSequence: last, origin: String(parts[3]))
    }
}
