import Foundation

/// The lease rules of a work item, as pure transitions: the store applies them inside one
/// write transaction, so two workers never both hold an item.
extension WorkItem {
    /// The value of `expected_last_heartbeat` that claims a lease no heartbeat has renewed yet.
    public static let noHeartbeat = "NO_HEARTBEAT"

    /// Whether the item still needs (or has) a worker.
    public var isLive: Bool { state != .stopped }

    /// Whether the lease of an acknowledged item has lapsed at `now`.
    public func leaseLapsed(at now: Date) -> Bool {
        guard let expires = leaseExpiresAt else { return false }
        return expires <= now
    }

    /// The item as it stands at `now`: a `stopping` item whose worker let the lease lapse has stopped.
    public func settled(at now: Date) -> WorkItem {
        guard state == .stopping, leaseLapsed(at: now) else { return self }
        var next = self
        next.state = .stopped
        next.stoppedAt = leaseExpiresAt
        return next
    }

    /// Whether a poll at `now` may hand the item out: queued and not handed to another worker
    /// within `reclaimAfter`, or acknowledged by a worker whose lease has lapsed.
    public func claimable(at now: Date, reclaimAfter: TimeInterval) -> Bool {
        switch state {
        case .queued:
            guard let polled = polledAt else { return true }
            return polled.addingTimeInterval(reclaimAfter) <= now
        case .starting, .active:
            return leaseLapsed(at: now)
        case .stopping, .stopped:
            return false
        }
    }

    /// Handed out by a poll to `worker` at `now`: back in `queued` (a lapsed lease is gone)
    /// until the worker acknowledges it.
    public func claimed(by worker: String?, at now: Date, secretHash: String?) -> WorkItem {
        var next = self
        if state != .queued {
            next.state = .queued
            next.acknowledgedAt = nil
            next.latestHeartbeatAt = nil
            next.leaseExpiresAt = nil
        }
        next.polledAt = now
        next.polledBy = worker
        next.secretHash = secretHash
        return next
    }

    /// Acknowledged at `now`: `queued` becomes `starting` with a lease of `ttlSeconds`. Acknowledging
    /// again is harmless (the first heartbeat decides who holds the lease); a stopped item refuses.
    public func acknowledged(at now: Date, ttlSeconds: Int) throws(APIError) -> WorkItem {
        switch state {
        case .queued:
            var next = self
            next.state = .starting
            next.acknowledgedAt = now
            next.leaseTTLSeconds = ttlSeconds
            next.leaseExpiresAt = now.addingTimeInterval(TimeInterval(ttlSeconds))
            return next
        case .starting, .active:
            return self
        case .stopping, .stopped:
            throw APIError.conflict("work '\(id)' is \(state.rawValue) and cannot be acknowledged")
        }
    }

    /// A heartbeat at `now`. `expected` is the caller's `expected_last_heartbeat` (nil: no
    /// condition); a mismatch means another worker holds the lease, or the item went back to the
    /// queue, and throws the SDK's `heartbeat_precondition_failed` (412). A stopping or stopped item
    /// is reported as it is, without comparing, and its lease is not extended.
    public func heartbeat(expected: String?, ttlSeconds: Int, at now: Date) throws(APIError) -> (WorkItem, WorkHeartbeat) {
        let stored = latestHeartbeatAt.map(Timestamp.format)
        switch state {
        case .stopping, .stopped:
            return (self, WorkHeartbeat(lastHeartbeat: stored ?? "", leaseExtended: false, state: state, ttlSeconds: leaseTTLSeconds))
        case .queued:
            throw preconditionFailed("work '\(id)' is not held by any worker; poll for it again")
        case .starting, .active:
            if let expected {
                let matches = expected == Self.noHeartbeat ? stored == nil : expected == stored
                guard matches else {
                    throw preconditionFailed("expected_last_heartbeat does not match the stored heartbeat; another worker may hold the lease")
                }
            }
            var next = self
            var beat = now
            if let previous = latestHeartbeatAt, beat <= previous { beat = previous.addingTimeInterval(0.000_001) }
            beat = Timestamp.fromMicros(Timestamp.micros(beat))
            next.latestHeartbeatAt = beat
            next.state = .active
            if next.startedAt == nil { next.startedAt = now }
            next.leaseTTLSeconds = ttlSeconds
            next.leaseExpiresAt = now.addingTimeInterval(TimeInterval(ttlSeconds))
            return (next, WorkHeartbeat(lastHeartbeat: Timestamp.format(beat), leaseExtended: true, state: .active, ttlSeconds: ttlSeconds))
        }
    }

    /// Stopped at `now`. `force` (or an item no worker runs yet) stops at once; otherwise an
    /// active item becomes `stopping` and its worker learns it from the next heartbeat. Stopping a
    /// stopped item is a conflict (409), which the SDK's worker expects and ignores.
    public func stopped(force: Bool, at now: Date) throws(APIError) -> WorkItem {
        var next = self
        switch state {
        case .stopped:
            throw APIError.conflict("work '\(id)' is already stopped")
        case .queued, .starting:
            next.state = .stopped
        case .active, .stopping:
            next.state = force ? .stopped : .stopping
        }
        if next.stopRequestedAt == nil { next.stopRequestedAt = now }
        if next.state == .stopped {
            next.stoppedAt = now
            next.leaseExpiresAt = nil
            next.secretHash = nil
        }
        return next
    }

    /// The 412 the SDK reads as `BetaHeartbeatPreconditionFailedError`, with the lease as held.
    func preconditionFailed(_ message: String) -> APIError {
        let current: JSONValue = [
            "last_heartbeat": latestHeartbeatAt.map { .string(Timestamp.format($0)) } ?? .null,
            "lease_extended": false, "state": .string(state.rawValue), "ttl_seconds": .int(Int64(leaseTTLSeconds)),
        ]
        return APIError(.preconditionFailed, message, details: ["error_code": "heartbeat_precondition_failed", "current_state": current])
    }
}

/// The answer to a heartbeat (`BetaSelfHostedWorkHeartbeatResponse`).
public struct WorkHeartbeat: Sendable, Equatable, Encodable {
    public var lastHeartbeat: String
    public var leaseExtended: Bool
    public var state: WorkState
    public var ttlSeconds: Int

    enum CodingKeys: String, CodingKey {
        case type, state
        case lastHeartbeat = "last_heartbeat"
        case leaseExtended = "lease_extended"
        case ttlSeconds = "ttl_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("work_heartbeat", forKey: .type)
        try container.encode(lastHeartbeat, forKey: .lastHeartbeat)
        try container.encode(leaseExtended, forKey: .leaseExtended)
        try container.encode(state, forKey: .state)
        try container.encode(ttlSeconds, forKey: .ttlSeconds)
    }
}

/// Statistics of one environment's queue (`BetaSelfHostedWorkQueueStats`).
public struct WorkQueueStats: Sendable, Equatable, Encodable {
    /// Items waiting to be picked up.
    public var depth: Int
    /// Items handed to a worker by a poll and not acknowledged yet.
    public var pending: Int
    public var oldestQueuedAt: Date?
    /// Distinct workers that polled in the last 30 seconds.
    public var workersPolling: Int

    public init(depth: Int, pending: Int, oldestQueuedAt: Date?, workersPolling: Int) {
        self.depth = depth
        self.pending = pending
        self.oldestQueuedAt = oldestQueuedAt
        self.workersPolling = workersPolling
    }

    enum CodingKeys: String, CodingKey {
        case type, depth, pending
        case oldestQueuedAt = "oldest_queued_at"
        case workersPolling = "workers_polling"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("work_queue_stats", forKey: .type)
        try container.encode(depth, forKey: .depth)
        try container.encode(pending, forKey: .pending)
        try container.encode(oldestQueuedAt.map(Timestamp.format), forKey: .oldestQueuedAt)
        try container.encode(workersPolling, forKey: .workersPolling)
    }
}
