import Foundation

/// A value that builds its own JSON document directly. `JSONCoding` writes such values
/// without going through `JSONEncoder`; the document must be the one their `Encodable`
/// conformance produces (tests compare the two).
public protocol JSONRepresentable: Encodable {
    var json: JSONValue { get }
}

extension SessionState: JSONRepresentable {
    /// The state as its `Codable` encoding writes it. The store writes it on every append.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "status": .string(status.rawValue),
            "usage": usage.json,
            "active_seconds": .double(activeSeconds),
            "outcome_evaluations": .array(outcomeEvaluations.map(\.json)),
            "last_sequence": .int(lastSequence),
            "updated_at": .string(Timestamp.format(updatedAt)),
        ]
        if let runningSince { object["running_since"] = .string(Timestamp.format(runningSince)) }
        return .object(object)
    }
}

extension SessionUsage: JSONRepresentable {
    public var json: JSONValue {
        [
            "input_tokens": .int(Int64(inputTokens)),
            "output_tokens": .int(Int64(outputTokens)),
            "cache_read_input_tokens": .int(Int64(cacheReadInputTokens)),
            "cache_creation": [
                "ephemeral_5m_input_tokens": .int(Int64(cacheCreationInputTokens)),
                "ephemeral_1h_input_tokens": 0,
            ],
            "list_cost": MonetaryAmount(micros: listCostMicros).json,
            "list_cost_micros": .int(listCostMicros),
        ]
    }
}

extension OutcomeEvaluation: JSONRepresentable {
    public var json: JSONValue {
        [
            "type": "outcome_evaluation",
            "outcome_id": .string(outcomeID),
            "description": .string(description),
            "iteration": .int(Int64(iteration)),
            "result": .string(result),
            "explanation": explanation.map(JSONValue.string) ?? .null,
            "completed_at": completedAt.map { .string(Timestamp.format($0)) } ?? .null,
        ]
    }
}
