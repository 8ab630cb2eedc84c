/// How the work queues of `self_hosted` environments hand out leases.
public struct WorkQueueSettings: Sendable, Equatable {
    /// The lease a worker gets on acknowledging an item, and on each heartbeat that asks for none.
    public var leaseTTLSeconds: Int
    /// The longest lease a heartbeat may ask for (`desired_ttl_seconds`).
    public var maxLeaseTTLSeconds: Int
    /// How long an item handed out by a poll and never acknowledged waits before another poll
    /// may hand it out again, when the poll does not say (`reclaim_older_than_ms`).
    public var reclaimAfterMilliseconds: Int

    public init(leaseTTLSeconds: Int = 60, maxLeaseTTLSeconds: Int = 3600, reclaimAfterMilliseconds: Int = 5000) {
        self.leaseTTLSeconds = leaseTTLSeconds
        self.maxLeaseTTLSeconds = maxLeaseTTLSeconds
        self.reclaimAfterMilliseconds = reclaimAfterMilliseconds
    }
}
