import Foundation

/// One read of a mounted memory file by an agent: which version of which memory a session read.
public struct MemoryRead: Sendable, Equatable {
    public var storeID: String
    public var memoryID: String
    public var versionID: String

    public init(storeID: String, memoryID: String, versionID: String) {
        self.storeID = storeID
        self.memoryID = memoryID
        self.versionID = versionID
    }
}

/// How one session used one memory, and how that session ended: what dreams weigh to tell
/// helpful memories from harmful ones.
///
/// Wire form (`GET /v1/memory_stores/{id}/memories/{memory_id}/usage`, a Reverie extension):
/// `{"type":"memory_usage","session_id","memory_id","memory_store_id","memory_version_ids",
/// "read_count","first_read_at","last_read_at","session_status","stop_reason","outcome_evaluations"}`.
public struct MemoryUsage: Codable, Sendable, Equatable {
    public var sessionID: String
    public var memoryID: String
    public var storeID: String
    /// The versions the session read, oldest first.
    public var versionIDs: [String]
    public var readCount: Int
    public var firstReadAt: Date
    public var lastReadAt: Date
    /// The session's status now.
    public var sessionStatus: SessionStatus
    /// The `stop_reason` of the session's latest `session.status_idle` (or terminated) event.
    public var stopReason: JSONValue?
    /// The session's graded outcomes, as on the session.
    public var outcomeEvaluations: [OutcomeEvaluation]

    public init(sessionID: String, memoryID: String, storeID: String, versionIDs: [String], readCount: Int, firstReadAt: Date,
                lastReadAt: Date, sessionStatus: SessionStatus, stopReason: JSONValue?, outcomeEvaluations: [OutcomeEvaluation]) {
        self.sessionID = sessionID
        self.memoryID = memoryID
        self.storeID = storeID
        self.versionIDs = versionIDs
        self.readCount = readCount
        self.firstReadAt = firstReadAt
        self.lastReadAt = lastReadAt
        self.sessionStatus = sessionStatus
        self.stopReason = stopReason
        self.outcomeEvaluations = outcomeEvaluations
    }

    enum CodingKeys: String, CodingKey {
        case type
        case sessionID = "session_id"
        case memoryID = "memory_id"
        case storeID = "memory_store_id"
        case versionIDs = "memory_version_ids"
        case readCount = "read_count"
        case firstReadAt = "first_read_at"
        case lastReadAt = "last_read_at"
        case sessionStatus = "session_status"
        case stopReason = "stop_reason"
        case outcomeEvaluations = "outcome_evaluations"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try container.decode(String.self, forKey: .sessionID)
        memoryID = try container.decode(String.self, forKey: .memoryID)
        storeID = try container.decode(String.self, forKey: .storeID)
        versionIDs = try container.decode([String].self, forKey: .versionIDs)
        readCount = try container.decode(Int.self, forKey: .readCount)
        firstReadAt = try container.decode(Date.self, forKey: .firstReadAt)
        lastReadAt = try container.decode(Date.self, forKey: .lastReadAt)
        sessionStatus = try container.decode(SessionStatus.self, forKey: .sessionStatus)
        stopReason = try container.decodeIfPresent(JSONValue.self, forKey: .stopReason)
        outcomeEvaluations = try container.decodeIfPresent([OutcomeEvaluation].self, forKey: .outcomeEvaluations) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("memory_usage", forKey: .type)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(memoryID, forKey: .memoryID)
        try container.encode(storeID, forKey: .storeID)
        try container.encode(versionIDs, forKey: .versionIDs)
        try container.encode(readCount, forKey: .readCount)
        try container.encode(firstReadAt, forKey: .firstReadAt)
        try container.encode(lastReadAt, forKey: .lastReadAt)
        try container.encode(sessionStatus, forKey: .sessionStatus)
        try container.encode(stopReason ?? .null, forKey: .stopReason)
        try container.encode(outcomeEvaluations, forKey: .outcomeEvaluations)
    }
}
