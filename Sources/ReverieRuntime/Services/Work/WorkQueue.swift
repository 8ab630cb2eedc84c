import Foundation
import ReverieCore
import ReverieStore
import Synchronization

/// The work queues of `self_hosted` environments (`/v1/environments/{id}/work`).
///
/// A session of a self-hosted environment becomes a work item while it has tool calls for a
/// worker to serve (`demand`). Workers poll for items, acknowledge them, hold them with
/// heartbeats, and stop them when done. A lease not renewed within its TTL lets the next poll
/// hand the item to another worker; everything is in the store, so a restart loses nothing.
public final class WorkQueue: Sendable {
    let store: any Store
    let settings: WorkQueueSettings
    private let arrivals = WorkArrivals()
    /// When each worker (by `Anthropic-Worker-ID`) last polled, per environment.
    private let pollers = Mutex<[String: [String: ContinuousClock.Instant]]>([:])
    /// Sessions known to have a live item, so the loop's `demand` before each wait for a worker
    /// costs no write. Only `stop` ends an item (a `stopping` one ends when its lease lapses,
    /// and `stop` made it `stopping`), and `stop` forgets the session.
    private let live = Mutex<Set<String>>([])

    public init(store: any Store, settings: WorkQueueSettings = WorkQueueSettings()) {
        self.store = store
        self.settings = settings
    }

    // MARK: the runtime's side

    /// Makes sure the session has a live work item, queueing one if not; returns it.
    public func demand(sessionID: String, environmentID: String) async throws {
        if live.withLock({ $0.contains(sessionID) }) { return }
        try await ensureItem(sessionID: sessionID, environmentID: environmentID)
    }

    @discardableResult
    private func ensureItem(sessionID: String, environmentID: String) async throws -> WorkItem {
        let ttl = settings.leaseTTLSeconds
        let (item, created) = try await store.ensureWorkItem(sessionID: sessionID, environmentID: environmentID) {
            let now = Timestamp.now()
            return WorkItem(
                id: ResourceID.make(ResourceID.work, at: now), environmentID: environmentID, sessionID: sessionID, createdAt: now, leaseTTLSeconds: ttl)
        }
        if created { arrivals.signal(environmentID) }
        if item.isLive, item.state != .stopping { live.withLock { _ = $0.insert(sessionID) } }
        return item
    }

    // MARK: the API's side

    /// `GET …/work/poll`: the oldest item a worker may take, acknowledged by nobody yet, with its
    /// per-item `secret`. Waits up to `blockMilliseconds` (1-999) for one to arrive.
    public func poll(environmentID: String, workerID: String?, blockMilliseconds: Int?, reclaimOlderThanMilliseconds: Int?) async throws -> WorkItem? {
        if let block = blockMilliseconds, !(1...999).contains(block) {
            throw APIError.invalidRequest("block_ms: must be between 1 and 999")
        }
        if let reclaim = reclaimOlderThanMilliseconds, reclaim < 0 {
            throw APIError.invalidRequest("reclaim_older_than_ms: must not be negative")
        }
        try await requireSelfHosted(environmentID)
        if let workerID, !workerID.isEmpty {
            pollers.withLock { $0[environmentID, default: [:]][workerID] = .now }
        }
        let reclaimAfter = TimeInterval(reclaimOlderThanMilliseconds ?? settings.reclaimAfterMilliseconds) / 1000
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(blockMilliseconds ?? 0))
        while true {
            let generation = arrivals.generation(environmentID)
            if let item = try await claim(environmentID: environmentID, workerID: workerID, reclaimAfter: reclaimAfter) { return item }
            let left = deadline - ContinuousClock.now
            // Leases lapse without an arrival: look again at least every 250 ms while blocking.
            guard left > .zero else { return nil }
            await arrivals.wait(environmentID, after: generation, timeout: min(left, .milliseconds(250)))
            try Task.checkCancellation()
        }
    }

    private func claim(environmentID: String, workerID: String?, reclaimAfter: TimeInterval) async throws -> WorkItem? {
        let token = WorkSecret.makeSessionsToken()
        let hash = APIKeyRecord.hash(token)
        let now = Timestamp.now()
        guard var item = try await store.claimWorkItem(
            environmentID: environmentID, claimable: { $0.claimable(at: now, reclaimAfter: reclaimAfter) },
            claim: { $0.claimed(by: workerID, at: now, secretHash: hash) })
        else { return nil }
        item.secret = WorkSecret.payload(sessionsToken: token)
        return item
    }

    /// `POST …/work/{id}/ack`: `queued` → `starting`, with a lease.
    public func acknowledge(environmentID: String, id: String) async throws -> WorkItem {
        let ttl = settings.leaseTTLSeconds
        return try await store.updateWorkItem(environmentID: environmentID, id: id) { current in
            (try current.settled(at: Date()).acknowledged(at: Timestamp.now(), ttlSeconds: ttl), ())
        }.0
    }

    /// `POST …/work/{id}/heartbeat`: renews the lease of the worker whose `expected` last
    /// heartbeat matches (412 otherwise).
    public func heartbeat(environmentID: String, id: String, expected: String?, desiredTTLSeconds: Int?) async throws -> WorkHeartbeat {
        if let desired = desiredTTLSeconds, !(1...settings.maxLeaseTTLSeconds).contains(desired) {
            throw APIError.invalidRequest("desired_ttl_seconds: must be between 1 and \(settings.maxLeaseTTLSeconds)")
        }
        let ttl = desiredTTLSeconds ?? settings.leaseTTLSeconds
        return try await store.updateWorkItem(environmentID: environmentID, id: id) { current in
            try current.settled(at: Date()).heartbeat(expected: expected, ttlSeconds: ttl, at: Timestamp.now())
        }.1
    }

    /// `POST …/work/{id}/stop`. When the item's session still runs (its agent may call tools
    /// again), a new item is queued for it.
    public func stop(environmentID: String, id: String, force: Bool) async throws -> WorkItem {
        let item = try await store.updateWorkItem(environmentID: environmentID, id: id) { current in
            (try current.settled(at: Date()).stopped(force: force, at: Timestamp.now()), ())
        }.0
        live.withLock { _ = $0.remove(item.sessionID) }
        if item.state == .stopped, try await store.sessionHeader(id: item.sessionID)?.status == .running {
            try await ensureItem(sessionID: item.sessionID, environmentID: environmentID)
        }
        return item
    }

    /// `GET …/work/{id}`.
    public func item(environmentID: String, id: String) async throws -> WorkItem {
        try await requireEnvironment(environmentID)
        guard let item = try await store.workItem(environmentID: environmentID, id: id) else { throw APIError.notFound("work", id) }
        return item.settled(at: Date())
    }

    /// `GET …/work`: newest first.
    public func list(environmentID: String, page: PageRequest) async throws -> Page<WorkItem> {
        try await requireEnvironment(environmentID)
        let now = Date()
        return try await store.listWorkItems(environmentID: environmentID, page: page).map { $0.settled(at: now) }
    }

    /// `POST …/work/{id}`: merges `metadata` (a string upserts a key, null deletes it).
    public func update(environmentID: String, id: String, metadata: JSONValue?) async throws -> WorkItem {
        try await requireEnvironment(environmentID)
        return try await store.updateWorkItem(environmentID: environmentID, id: id) { current in
            var next = current
            next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"))
            return (next, ())
        }.0.settled(at: Date())
    }

    /// `GET …/work/stats`.
    public func stats(environmentID: String) async throws -> WorkQueueStats {
        try await requireEnvironment(environmentID)
        let now = Date()
        let reclaimAfter = TimeInterval(settings.reclaimAfterMilliseconds) / 1000
        let live = try await store.liveWorkItems(environmentID: environmentID).map { $0.settled(at: now) }
        let waiting = live.filter { $0.claimable(at: now, reclaimAfter: reclaimAfter) }
        let pending = live.filter { $0.state == .queued && !$0.claimable(at: now, reclaimAfter: reclaimAfter) }
        let recent = ContinuousClock.now - .seconds(30)
        let workers = pollers.withLock { $0[environmentID, default: [:]].values.filter { $0 >= recent }.count }
        return WorkQueueStats(
            depth: waiting.count, pending: pending.count, oldestQueuedAt: (waiting + pending).map(\.createdAt).min(), workersPolling: workers)
    }

    /// The live item whose per-item secret carried this sessions token (for authentication).
    public func item(sessionsToken: String) async throws -> WorkItem? {
        guard let item = try await store.workItem(secretHash: APIKeyRecord.hash(sessionsToken)), item.settled(at: Date()).isLive else { return nil }
        return item
    }

    private func requireEnvironment(_ id: String) async throws {
        guard try await store.environment(id: id) != nil else { throw APIError.notFound("environment", id) }
    }

    private func requireSelfHosted(_ id: String) async throws {
        guard let environment = try await store.environment(id: id) else { throw APIError.notFound("environment", id) }
        guard environment.config == .selfHosted else {
            throw APIError.invalidRequest("environment '\(id)' is not self_hosted; only self_hosted environments have a work queue")
        }
    }
}
