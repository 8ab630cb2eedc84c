import Foundation

/// A dream: a background job that reads a memory store and past sessions and writes a
/// reviewable memory store of lessons (`drm_…`).
public struct Dream: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, running, completed, failed, canceled

        public var isTerminal: Bool { self == .completed || self == .failed || self == .canceled }
    }

    public enum OutputBehavior: Sendable, Equatable {
        /// Write a new store; the input store is never modified (the default).
        case createNew
        /// Apply the changes to the input store itself.
        case updateExisting(memoryStoreID: String)
    }

    public var id: String
    public var status: Status
    public var memoryStoreID: String
    public var sessionIDs: [String]
    public var model: String
    public var instructions: String?
    public var outputBehavior: OutputBehavior
    /// The store the dream wrote (set once writing begins).
    public var outputStoreID: String?
    public var usage: SessionUsage
    public var error: DreamError?
    /// Reverie extension: the token budget of the whole dream.
    public var tokenBudget: Int
    /// Reverie extension: the stage the dream is in (`digest`, `extract`, `curate`, `write`).
    public var stage: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var endedAt: Date?
    public var archivedAt: Date?

    public init(id: String, memoryStoreID: String, sessionIDs: [String], model: String, instructions: String?, outputBehavior: OutputBehavior,
                tokenBudget: Int, createdAt: Date) {
        self.id = id
        self.status = .pending
        self.memoryStoreID = memoryStoreID
        self.sessionIDs = sessionIDs
        self.model = model
        self.instructions = instructions
        self.outputBehavior = outputBehavior
        self.outputStoreID = nil
        self.usage = SessionUsage()
        self.error = nil
        self.tokenBudget = tokenBudget
        self.stage = nil
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.endedAt = nil
        self.archivedAt = nil
    }

    enum CodingKeys: String, CodingKey {
        case id, type, status, inputs, model, instructions, outputs, usage, error, stage
        case outputBehavior = "output_behavior"
        case sessionID = "session_id"
        case tokenBudget = "token_budget"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case endedAt = "ended_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        status = try container.decode(Status.self, forKey: .status)
        let inputs = try container.decode([JSONValue].self, forKey: .inputs)
        memoryStoreID = inputs.first { $0["type"] == "memory_store" }?["memory_store_id"]?.stringValue ?? ""
        sessionIDs = (inputs.first { $0["type"] == "sessions" }?["session_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        model = try container.decode(JSONValue.self, forKey: .model)["id"]?.stringValue ?? ""
        instructions = try container.decodeIfPresent(String.self, forKey: .instructions)
        let behavior = try container.decode(JSONValue.self, forKey: .outputBehavior)
        if behavior["type"] == "update_existing" {
            outputBehavior = .updateExisting(memoryStoreID: behavior["memory_store_id"]?.stringValue ?? memoryStoreID)
        } else {
            outputBehavior = .createNew
        }
        outputStoreID = try container.decode([JSONValue].self, forKey: .outputs).first?["memory_store_id"]?.stringValue
        let usage = try container.decode(JSONValue.self, forKey: .usage)
        self.usage = SessionUsage(
            inputTokens: Int(usage["input_tokens"]?.intValue ?? 0), outputTokens: Int(usage["output_tokens"]?.intValue ?? 0),
            cacheReadInputTokens: Int(usage["cache_read_input_tokens"]?.intValue ?? 0),
            cacheCreationInputTokens: Int(usage["cache_creation_input_tokens"]?.intValue ?? 0))
        error = try container.decodeIfPresent(DreamError.self, forKey: .error)
        tokenBudget = try container.decodeIfPresent(Int.self, forKey: .tokenBudget) ?? DreamRequest.defaultTokenBudget
        stage = try container.decodeIfPresent(String.self, forKey: .stage)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decodeIfPresent(Date.self, forKey: .updatedAt) ?? createdAt
        endedAt = try container.decodeIfPresent(Date.self, forKey: .endedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("dream", forKey: .type)
        try container.encode(status, forKey: .status)
        let inputs: JSONValue = [
            ["type": "memory_store", "memory_store_id": .string(memoryStoreID)],
            ["type": "sessions", "session_ids": .array(sessionIDs.map(JSONValue.string))],
        ]
        try container.encode(inputs, forKey: .inputs)
        try container.encode(JSONValue.object(["id": .string(model), "speed": "standard"]), forKey: .model)
        try container.encode(instructions, forKey: .instructions)
        switch outputBehavior {
        case .createNew:
            try container.encode(JSONValue.object(["type": "create_new"]), forKey: .outputBehavior)
        case .updateExisting(let storeID):
            try container.encode(JSONValue.object(["type": "update_existing", "memory_store_id": .string(storeID)]), forKey: .outputBehavior)
        }
        let outputs: [JSONValue] = outputStoreID.map { [["type": "memory_store", "memory_store_id": .string($0)]] } ?? []
        try container.encode(outputs, forKey: .outputs)
        try container.encode(JSONValue.object([
            "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
            "cache_read_input_tokens": .int(Int64(usage.cacheReadInputTokens)),
            "cache_creation_input_tokens": .int(Int64(usage.cacheCreationInputTokens)),
        ]), forKey: .usage)
        try container.encode(error, forKey: .error)
        try container.encodeNil(forKey: .sessionID)
        try container.encode(tokenBudget, forKey: .tokenBudget)
        try container.encode(stage, forKey: .stage)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(endedAt, forKey: .endedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }

    /// The store this dream writes into in place, if it updates one.
    public var inPlaceStoreID: String? {
        if case .updateExisting(let id) = outputBehavior { return id }
        return nil
    }
}

/// Why a dream failed: `{type, message}`.
public struct DreamError: Codable, Sendable, Equatable {
    public var type: String
    public var message: String

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }
}

/// A parsed `POST /v1/dreams` body.
public struct DreamRequest: Sendable {
    public static let maxSessions = 100
    public static let maxInstructions = 4096
    public static let defaultTokenBudget = 200_000
    public static let tokenBudgetRange = 4_000...20_000_000

    public var memoryStoreID: String
    public var sessionIDs: [String]
    public var model: String
    public var instructions: String?
    public var outputBehavior: Dream.OutputBehavior
    public var tokenBudget: Int

    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown(["inputs", "model", "instructions", "output_behavior", "token_budget"])
        guard let inputs = try reader.array("inputs") else { throw APIError.invalidRequest("inputs: required") }
        var storeIDs: [String] = []
        var sessionLists: [[String]] = []
        for (index, input) in inputs.enumerated() {
            let entry = try ObjectReader(input, at: reader.field("inputs").index(index))
            switch try entry.discriminator() {
            case "memory_store":
                try entry.rejectUnknown(["type", "memory_store_id"])
                storeIDs.append(try entry.requiredString("memory_store_id"))
            case "sessions":
                try entry.rejectUnknown(["type", "session_ids"])
                guard let ids = try entry.stringArray("session_ids") else {
                    throw APIError.invalidRequest("\(entry.field("session_ids")): required")
                }
                try Rules.count(ids, entry.field("session_ids"), min: 1, max: Self.maxSessions)
                if Set(ids).count != ids.count { throw APIError.invalidRequest("\(entry.field("session_ids")): contains duplicates") }
                sessionLists.append(ids)
            case let other:
                throw APIError.invalidRequest("\(entry.field("type")): must be 'memory_store' or 'sessions', got '\(other)'")
            }
        }
        guard storeIDs.count == 1, sessionLists.count == 1 else {
            throw APIError.invalidRequest("inputs: must hold exactly one memory_store entry and exactly one sessions entry")
        }
        memoryStoreID = storeIDs[0]
        sessionIDs = sessionLists[0]
        switch reader.raw("model") {
        case .absent, .null:
            throw APIError.invalidRequest("model: required")
        case .value(.string(let id)):
            try Rules.length(id, reader.field("model"), min: 1, max: 256)
            model = id
        case .value(let value):
            let config = try ObjectReader(value, at: reader.field("model"))
            try config.rejectUnknown(["id", "speed"])
            model = try config.requiredString("id")
            try Rules.length(model, config.field("id"), min: 1, max: 256)
            if let speed = try config.string("speed"), speed != "standard" {
                throw APIError.invalidRequest("\(config.field("speed")): only 'standard' is supported for dreams")
            }
        }
        instructions = try reader.string("instructions")
        if let instructions { try Rules.length(instructions, reader.field("instructions"), min: 1, max: Self.maxInstructions) }
        outputBehavior = .createNew
        if let behavior = try reader.object("output_behavior") {
            switch try behavior.discriminator() {
            case "create_new":
                try behavior.rejectUnknown(["type"])
            case "update_existing":
                try behavior.rejectUnknown(["type", "memory_store_id"])
                let target = try behavior.string("memory_store_id") ?? memoryStoreID
                guard target == memoryStoreID else {
                    throw APIError.invalidRequest("\(behavior.field("memory_store_id")): must be the input memory store '\(memoryStoreID)'")
                }
                outputBehavior = .updateExisting(memoryStoreID: target)
            case let other:
                throw APIError.invalidRequest("\(behavior.field("type")): must be 'create_new' or 'update_existing', got '\(other)'")
            }
        }
        tokenBudget = try reader.int("token_budget") ?? Self.defaultTokenBudget
        guard Self.tokenBudgetRange.contains(tokenBudget) else {
            throw APIError.invalidRequest(
                "token_budget: must be between \(Self.tokenBudgetRange.lowerBound) and \(Self.tokenBudgetRange.upperBound)")
        }
    }
}

/// A parsed `POST /v1/dreams/{id}/review` body (Reverie extension).
public struct DreamReviewRequest: Sendable {
    public var decision: DreamOperation.Review
    /// The operations to decide; nil for every pending one.
    public var operationIDs: [String]?

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["decision", "operation_ids"])
        let decisionText = try body.requiredString("decision")
        guard let decision = DreamOperation.Review(decision: decisionText) else {
            throw APIError.invalidRequest("decision: must be 'accept' or 'reject', got '\(decisionText)'")
        }
        self.decision = decision
        operationIDs = try body.stringArray("operation_ids")
    }
}
