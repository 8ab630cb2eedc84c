import Foundation

/// A Managed Agents `session`: one run of an agent, kept as an append-only event log.
///
/// `status`, `usage`, `stats` and `outcome_evaluations` are derived from the log; the store
/// updates them in the same transaction that appends the events they derive from.
public struct Session: Codable, Sendable, Equatable {
    public var id: String
    public var agent: SessionAgent
    public var environmentID: String
    public var title: String?
    public var metadata: [String: String]
    public var resources: [SessionResource]
    public var status: SessionStatus
    public var usage: SessionUsage
    public var stats: SessionStats
    public var outcomeEvaluations: [OutcomeEvaluation]
    public var vaultIDs: [String]
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?
    /// Set when the session was made from an existing transcript (a Reverie extension,
    /// present in the JSON only then); such a session is read-only.
    public var imported: SessionImport?
    /// The spend ceiling, if the session was created with one.
    public var budget: SessionBudget?
    /// The deployment that created the session, if one did.
    public var deploymentID: String?

    public init(
        id: String, agent: SessionAgent, environmentID: String, title: String?, metadata: [String: String],
        resources: [SessionResource], status: SessionStatus = .idle, usage: SessionUsage = SessionUsage(),
        stats: SessionStats = SessionStats(), outcomeEvaluations: [OutcomeEvaluation] = [], vaultIDs: [String] = [],
        createdAt: Date, updatedAt: Date, archivedAt: Date? = nil, imported: SessionImport? = nil
    ) {
        self.id = id
        self.agent = agent
        self.environmentID = environmentID
        self.title = title
        self.metadata = metadata
        self.resources = resources
        self.status = status
        self.usage = usage
        self.stats = stats
        self.outcomeEvaluations = outcomeEvaluations
        self.vaultIDs = vaultIDs
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
        self.imported = imported
    }

    enum CodingKeys: String, CodingKey {
        case id, type, agent, title, metadata, resources, status, usage, stats, imported, budget
        case deploymentID = "deployment_id"
        case environmentID = "environment_id"
        case outcomeEvaluations = "outcome_evaluations"
        case vaultIDs = "vault_ids"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        agent = try container.decode(SessionAgent.self, forKey: .agent)
        environmentID = try container.decode(String.self, forKey: .environmentID)
        title = try container.decodeIfPresent(String.self, forKey: .title)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        resources = try container.decodeIfPresent([SessionResource].self, forKey: .resources) ?? []
        status = try container.decode(SessionStatus.self, forKey: .status)
        usage = try container.decodeIfPresent(SessionUsage.self, forKey: .usage) ?? SessionUsage()
        stats = try container.decodeIfPresent(SessionStats.self, forKey: .stats) ?? SessionStats()
        outcomeEvaluations = try container.decodeIfPresent([OutcomeEvaluation].self, forKey: .outcomeEvaluations) ?? []
        vaultIDs = try container.decodeIfPresent([String].self, forKey: .vaultIDs) ?? []
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
        imported = try container.decodeIfPresent(SessionImport.self, forKey: .imported)
        budget = try container.decodeIfPresent(SessionBudget.self, forKey: .budget)
        deploymentID = try container.decodeIfPresent(String.self, forKey: .deploymentID)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("session", forKey: .type)
        try container.encode(agent, forKey: .agent)
        try container.encode(environmentID, forKey: .environmentID)
        try container.encode(title, forKey: .title)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(resources, forKey: .resources)
        try container.encode(status, forKey: .status)
        try container.encode(usage, forKey: .usage)
        try container.encode(stats, forKey: .stats)
        try container.encode(outcomeEvaluations, forKey: .outcomeEvaluations)
        try container.encode(vaultIDs, forKey: .vaultIDs)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
        try container.encodeIfPresent(imported, forKey: .imported)
        try container.encode(budget, forKey: .budget)
        try container.encode(deploymentID, forKey: .deploymentID)
    }

    /// The memory stores mounted into this session.
    public var memoryMounts: [MemoryStoreMount] {
        resources.compactMap { if case .memoryStore(let mount) = $0 { mount } else { nil } }
    }
}

/// `rescheduling`, `running`, `idle` or `terminated`.
public enum SessionStatus: String, Codable, Sendable, Equatable, CaseIterable {
    case rescheduling, running, idle, terminated
}

/// Token usage summed over every model call of the session (its threads and graders included).
public struct SessionUsage: Codable, Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadInputTokens: Int
    public var cacheCreationInputTokens: Int
    /// The list cost of the calls, in millionths of a US dollar (calls of a model without a
    /// list price add nothing).
    public var listCostMicros: Int64

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0, listCostMicros: Int64 = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.listCostMicros = listCostMicros
    }

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cacheReadInputTokens = "cache_read_input_tokens"
        case cacheCreation = "cache_creation"
        case listCost = "list_cost"
        case listCostMicros = "list_cost_micros"
    }

    enum CacheKeys: String, CodingKey {
        case fiveMinutes = "ephemeral_5m_input_tokens"
        case oneHour = "ephemeral_1h_input_tokens"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        inputTokens = try container.decodeIfPresent(Int.self, forKey: .inputTokens) ?? 0
        outputTokens = try container.decodeIfPresent(Int.self, forKey: .outputTokens) ?? 0
        cacheReadInputTokens = try container.decodeIfPresent(Int.self, forKey: .cacheReadInputTokens) ?? 0
        if let cache = try? container.nestedContainer(keyedBy: CacheKeys.self, forKey: .cacheCreation) {
            cacheCreationInputTokens = (try cache.decodeIfPresent(Int.self, forKey: .fiveMinutes) ?? 0)
                + (try cache.decodeIfPresent(Int.self, forKey: .oneHour) ?? 0)
        } else {
            cacheCreationInputTokens = 0
        }
        listCostMicros = try container.decodeIfPresent(Int64.self, forKey: .listCostMicros) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(inputTokens, forKey: .inputTokens)
        try container.encode(outputTokens, forKey: .outputTokens)
        try container.encode(cacheReadInputTokens, forKey: .cacheReadInputTokens)
        var cache = container.nestedContainer(keyedBy: CacheKeys.self, forKey: .cacheCreation)
        try cache.encode(cacheCreationInputTokens, forKey: .fiveMinutes)
        try cache.encode(0, forKey: .oneHour)
        try container.encode(MonetaryAmount(micros: listCostMicros), forKey: .listCost)
        try container.encode(listCostMicros, forKey: .listCostMicros)
    }

    /// Adds one model call's usage.
    public mutating func add(_ other: SessionUsage) {
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        cacheReadInputTokens += other.cacheReadInputTokens
        cacheCreationInputTokens += other.cacheCreationInputTokens
        listCostMicros += other.listCostMicros
    }

    /// Every token counted.
    public var totalTokens: Int { inputTokens + outputTokens + cacheReadInputTokens + cacheCreationInputTokens }
}

/// Timing statistics: seconds spent running, and since creation.
public struct SessionStats: Codable, Sendable, Equatable {
    public var activeSeconds: Double
    public var durationSeconds: Double

    public init(activeSeconds: Double = 0, durationSeconds: Double = 0) {
        self.activeSeconds = activeSeconds
        self.durationSeconds = durationSeconds
    }

    enum CodingKeys: String, CodingKey {
        case activeSeconds = "active_seconds"
        case durationSeconds = "duration_seconds"
    }
}

/// One entry of `outcome_evaluations`: the state of an outcome's grading.
public struct OutcomeEvaluation: Codable, Sendable, Equatable {
    public var outcomeID: String
    public var description: String
    public var iteration: Int
    public var result: String
    public var explanation: String?
    public var completedAt: Date?

    public init(outcomeID: String, description: String, iteration: Int, result: String, explanation: String? = nil, completedAt: Date? = nil) {
        self.outcomeID = outcomeID
        self.description = description
        self.iteration = iteration
        self.result = result
        self.explanation = explanation
        self.completedAt = completedAt
    }

    enum CodingKeys: String, CodingKey {
        case type, description, iteration, result, explanation
        case outcomeID = "outcome_id"
        case completedAt = "completed_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outcomeID = try container.decode(String.self, forKey: .outcomeID)
        description = try container.decode(String.self, forKey: .description)
        iteration = try container.decode(Int.self, forKey: .iteration)
        result = try container.decode(String.self, forKey: .result)
        explanation = try container.decodeIfPresent(String.self, forKey: .explanation)
        completedAt = try container.decodeIfPresent(Date.self, forKey: .completedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("outcome_evaluation", forKey: .type)
        try container.encode(outcomeID, forKey: .outcomeID)
        try container.encode(description, forKey: .description)
        try container.encode(iteration, forKey: .iteration)
        try container.encode(result, forKey: .result)
        try container.encode(explanation, forKey: .explanation)
        try container.encode(completedAt, forKey: .completedAt)
    }
}
