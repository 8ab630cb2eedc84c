import Foundation

/// Where a work item stands: `queued` until a worker acknowledges it, `starting` until the
/// worker's first heartbeat, `active` while heartbeats renew its lease, `stopping` once a
/// graceful stop was asked for, `stopped` at the end.
public enum WorkState: String, Sendable, Codable, CaseIterable {
    case queued, starting, active, stopping, stopped
}

/// A unit of work in a `self_hosted` environment's queue: one session whose tool calls a
/// worker serves while it holds the item's lease (`/v1/environments/{id}/work`).
///
/// Encodes as the SDK's `BetaSelfHostedWork`; the lease bookkeeping (who polled it when, when
/// the lease lapses) is stored with it but never shown.
public struct WorkItem: Sendable, Equatable {
    public var id: String
    public var environmentID: String
    /// The session the work serves (`data: {type: "session", id}`).
    public var sessionID: String
    public var state: WorkState
    public var metadata: [String: String]
    public var createdAt: Date
    public var acknowledgedAt: Date?
    public var startedAt: Date?
    public var latestHeartbeatAt: Date?
    public var stopRequestedAt: Date?
    public var stoppedAt: Date?
    /// When the current lease lapses (set by ack and every heartbeat).
    public var leaseExpiresAt: Date?
    /// The TTL of the current lease, in seconds.
    public var leaseTTLSeconds: Int
    /// When a worker last received the item from a poll, and which worker (its `Anthropic-Worker-ID`).
    public var polledAt: Date?
    public var polledBy: String?
    /// The SHA-256 of the per-item sessions token handed out with the last poll, if any.
    public var secretHash: String?
    /// The per-item credential payload, set only on the response of the poll that claimed it.
    public var secret: String?

    public init(
        id: String, environmentID: String, sessionID: String, state: WorkState = .queued, metadata: [String: String] = [:], createdAt: Date,
        acknowledgedAt: Date? = nil, startedAt: Date? = nil, latestHeartbeatAt: Date? = nil, stopRequestedAt: Date? = nil, stoppedAt: Date? = nil,
        leaseExpiresAt: Date? = nil, leaseTTLSeconds: Int, polledAt: Date? = nil, polledBy: String? = nil, secretHash: String? = nil
    ) {
        self.id = id
        self.environmentID = environmentID
        self.sessionID = sessionID
        self.state = state
        self.metadata = metadata
        self.createdAt = createdAt
        self.acknowledgedAt = acknowledgedAt
        self.startedAt = startedAt
        self.latestHeartbeatAt = latestHeartbeatAt
        self.stopRequestedAt = stopRequestedAt
        self.stoppedAt = stoppedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.leaseTTLSeconds = leaseTTLSeconds
        self.polledAt = polledAt
        self.polledBy = polledBy
        self.secretHash = secretHash
    }
}

extension WorkItem: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, type, data, metadata, secret, state
        case environmentID = "environment_id"
        case createdAt = "created_at"
        case acknowledgedAt = "acknowledged_at"
        case startedAt = "started_at"
        case latestHeartbeatAt = "latest_heartbeat_at"
        case stopRequestedAt = "stop_requested_at"
        case stoppedAt = "stopped_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("work", forKey: .type)
        try container.encode(environmentID, forKey: .environmentID)
        try container.encode(["type": "session", "id": sessionID], forKey: .data)
        try container.encode(state.rawValue, forKey: .state)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(secret, forKey: .secret)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(acknowledgedAt.map(Timestamp.format), forKey: .acknowledgedAt)
        try container.encode(startedAt.map(Timestamp.format), forKey: .startedAt)
        try container.encode(latestHeartbeatAt.map(Timestamp.format), forKey: .latestHeartbeatAt)
        try container.encode(stopRequestedAt.map(Timestamp.format), forKey: .stopRequestedAt)
        try container.encode(stoppedAt.map(Timestamp.format), forKey: .stoppedAt)
    }
}
