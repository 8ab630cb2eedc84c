import Foundation

/// A memory store's dreaming schedule (Reverie extension): when to dream over the sessions
/// that used the store, whether to evaluate the result against a task set, and whether to
/// promote it automatically when the evaluation finds it not worse.
public struct DreamPolicy: Codable, Sendable, Equatable {
    public enum Trigger: Sendable, Equatable {
        /// After this many new sessions that mounted the store have ended.
        case sessions(Int)
        /// On a cron schedule (UTC), when at least one new session used the store.
        case cron(CronSchedule)
    }

    public enum Promotion: String, Codable, Sendable {
        /// Never promote automatically: every dream waits for a person.
        case review
        /// Promote when the evaluation's verdict is not `worse`; otherwise wait for a person.
        case ifNotWorse = "if_not_worse"
    }

    /// What the policy is doing and has done.
    public struct State: Codable, Sendable, Equatable {
        /// Sessions already dreamed over by this policy (never dreamed over twice).
        public var consumedSessionIDs: [String] = []
        public var lastCheckedAt: Date?
        public var pendingDreamID: String?
        public var pendingEvaluationID: String?
        public var lastDreamID: String?
        /// How the last cycle ended: `promoted`, `awaiting_review`, `dream_failed`, …
        public var lastResult: String?
        public var lastResultDetail: String?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case consumedSessionIDs = "consumed_session_ids"
            case lastCheckedAt = "last_checked_at"
            case pendingDreamID = "pending_dream_id"
            case pendingEvaluationID = "pending_evaluation_id"
            case lastDreamID = "last_dream_id"
            case lastResult = "last_result"
            case lastResultDetail = "last_result_detail"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(consumedSessionIDs, forKey: .consumedSessionIDs)
            try container.encode(lastCheckedAt, forKey: .lastCheckedAt)
            try container.encode(pendingDreamID, forKey: .pendingDreamID)
            try container.encode(pendingEvaluationID, forKey: .pendingEvaluationID)
            try container.encode(lastDreamID, forKey: .lastDreamID)
            try container.encode(lastResult, forKey: .lastResult)
            try container.encode(lastResultDetail, forKey: .lastResultDetail)
        }
    }

    /// The evaluation run on each dream's output (baseline: the store; candidate: the output).
    public typealias Gate = EvaluationPlan

    public var memoryStoreID: String
    public var trigger: Trigger
    public var model: String
    public var instructions: String?
    public var tokenBudget: Int
    public var evaluation: Gate?
    public var promotion: Promotion
    public var state: State
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case type, trigger, model, instructions, evaluation, promotion, state
        case memoryStoreID = "memory_store_id"
        case tokenBudget = "token_budget"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public init(memoryStoreID: String, trigger: Trigger, model: String, instructions: String?, tokenBudget: Int, evaluation: Gate?,
                promotion: Promotion, createdAt: Date) {
        self.memoryStoreID = memoryStoreID
        self.trigger = trigger
        self.model = model
        self.instructions = instructions
        self.tokenBudget = tokenBudget
        self.evaluation = evaluation
        self.promotion = promotion
        self.state = State()
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        memoryStoreID = try container.decode(String.self, forKey: .memoryStoreID)
        let trigger = try container.decode(JSONValue.self, forKey: .trigger)
        if trigger["type"] == "cron", let text = trigger["schedule"]?.stringValue {
            do {
                self.trigger = .cron(try CronSchedule(text))
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .trigger, in: container, debugDescription: error.message)
            }
        } else {
            self.trigger = .sessions(Int(trigger["count"]?.intValue ?? 1))
        }
        model = try container.decode(String.self, forKey: .model)
        instructions = try container.decodeIfPresent(String.self, forKey: .instructions)
        tokenBudget = try container.decode(Int.self, forKey: .tokenBudget)
        evaluation = try container.decodeIfPresent(Gate.self, forKey: .evaluation)
        promotion = try container.decode(Promotion.self, forKey: .promotion)
        state = try container.decodeIfPresent(State.self, forKey: .state) ?? State()
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("dream_policy", forKey: .type)
        try container.encode(memoryStoreID, forKey: .memoryStoreID)
        switch trigger {
        case .sessions(let count): try container.encode(JSONValue.object(["type": "sessions", "count": .int(Int64(count))]), forKey: .trigger)
        case .cron(let schedule): try container.encode(JSONValue.object(["type": "cron", "schedule": .string(schedule.expression)]), forKey: .trigger)
        }
        try container.encode(model, forKey: .model)
        try container.encode(instructions, forKey: .instructions)
        try container.encode(tokenBudget, forKey: .tokenBudget)
        try container.encode(evaluation, forKey: .evaluation)
        try container.encode(promotion, forKey: .promotion)
        try container.encode(state, forKey: .state)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A parsed `PUT /v1/memory_stores/{id}/dream_policy` body (Reverie extension).
public struct DreamPolicyRequest: Sendable {
    public var trigger: DreamPolicy.Trigger
    public var model: String
    public var instructions: String?
    public var tokenBudget: Int
    public var evaluation: DreamPolicy.Gate?
    public var promotion: DreamPolicy.Promotion

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["trigger", "model", "instructions", "token_budget", "evaluation", "promotion"])
        guard let trigger = try body.object("trigger") else { throw APIError.invalidRequest("trigger: required") }
        switch try trigger.discriminator() {
        case "sessions":
            try trigger.rejectUnknown(["type", "count"])
            guard let count = try trigger.int("count"), (1...DreamRequest.maxSessions).contains(count) else {
                throw APIError.invalidRequest("\(trigger.field("count")): required, between 1 and \(DreamRequest.maxSessions)")
            }
            self.trigger = .sessions(count)
        case "cron":
            try trigger.rejectUnknown(["type", "schedule"])
            self.trigger = .cron(try CronSchedule(try trigger.requiredString("schedule")))
        case let other:
            throw APIError.invalidRequest("\(trigger.field("type")): must be 'sessions' or 'cron', got '\(other)'")
        }
        model = try body.requiredString("model")
        try Rules.length(model, body.field("model"), min: 1, max: 256)
        instructions = try body.string("instructions")
        if let instructions { try Rules.length(instructions, body.field("instructions"), min: 1, max: DreamRequest.maxInstructions) }
        tokenBudget = try body.int("token_budget") ?? DreamRequest.defaultTokenBudget
        guard DreamRequest.tokenBudgetRange.contains(tokenBudget) else {
            throw APIError.invalidRequest(
                "token_budget: must be between \(DreamRequest.tokenBudgetRange.lowerBound) and \(DreamRequest.tokenBudgetRange.upperBound)")
        }
        if let gate = try body.object("evaluation") {
            // An evaluation's own rules; its arms are filled in per dream.
            try gate.rejectUnknown(EvaluationPlan.keys)
            evaluation = try EvaluationPlan(gate)
        } else {
            evaluation = nil
        }
        let promotionText = try body.string("promotion") ?? DreamPolicy.Promotion.review.rawValue
        guard let promotion = DreamPolicy.Promotion(rawValue: promotionText) else {
            throw APIError.invalidRequest("promotion: must be 'review' or 'if_not_worse', got '\(promotionText)'")
        }
        if promotion == .ifNotWorse, evaluation == nil {
            throw APIError.invalidRequest("promotion: 'if_not_worse' needs an evaluation to decide with")
        }
        self.promotion = promotion
    }
}
