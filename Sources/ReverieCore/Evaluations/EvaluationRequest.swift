import Foundation

/// What an evaluation runs: one agent in one environment, a task set, how often and how many
/// sessions at once. Parsed from an evaluation's body, and from a dream policy's `evaluation`
/// (whose arms are filled in per dream); stored as such in the policy.
public struct EvaluationPlan: Codable, Sendable, Equatable {
    public static let maxTasks = 50
    public static let repetitionRange = 1...20
    public static let concurrencyRange = 1...16
    public static let timeoutRange = 10...86_400
    /// The members of a body that describe a plan.
    public static let keys: Set<String> = ["agent", "environment_id", "tasks", "repetitions", "concurrency", "run_timeout_seconds"]

    public var agentID: String
    public var environmentID: String
    public var tasks: [EvaluationTask]
    public var repetitions: Int
    public var concurrency: Int
    public var runTimeoutSeconds: Int

    enum CodingKeys: String, CodingKey {
        case tasks, repetitions, concurrency
        case agentID = "agent"
        case environmentID = "environment_id"
        case runTimeoutSeconds = "run_timeout_seconds"
    }

    /// Reads the plan's members of `body` (the caller rejects members it does not know).
    public init(_ body: ObjectReader) throws(APIError) {
        agentID = try body.requiredString("agent")
        environmentID = try body.requiredString("environment_id")
        guard let tasks = try body.array("tasks") else { throw APIError.invalidRequest("tasks: required") }
        try Rules.count(tasks, body.field("tasks"), min: 1, max: Self.maxTasks)
        var parsed: [EvaluationTask] = []
        for (index, task) in tasks.enumerated() {
            let entry = try ObjectReader(task, at: body.field("tasks").index(index))
            try entry.rejectUnknown(["name", "prompt", "rubric", "max_iterations"])
            let prompt = try entry.requiredString("prompt")
            try Rules.length(prompt, entry.field("prompt"), min: 1, max: 100_000)
            let rubric = try entry.requiredString("rubric")
            try Rules.length(rubric, entry.field("rubric"), min: 1, max: 100_000)
            let name = try entry.string("name") ?? "task \(index + 1)"
            try Rules.length(name, entry.field("name"), min: 1, max: 256)
            let iterations = try entry.int("max_iterations") ?? 3
            guard (1...20).contains(iterations) else { throw APIError.invalidRequest("\(entry.field("max_iterations")): must be between 1 and 20") }
            parsed.append(EvaluationTask(name: name, prompt: prompt, rubric: rubric, maxIterations: iterations))
        }
        self.tasks = parsed
        repetitions = try body.int("repetitions") ?? 3
        guard Self.repetitionRange.contains(repetitions) else {
            throw APIError.invalidRequest("repetitions: must be between \(Self.repetitionRange.lowerBound) and \(Self.repetitionRange.upperBound)")
        }
        concurrency = try body.int("concurrency") ?? 2
        guard Self.concurrencyRange.contains(concurrency) else {
            throw APIError.invalidRequest("concurrency: must be between \(Self.concurrencyRange.lowerBound) and \(Self.concurrencyRange.upperBound)")
        }
        runTimeoutSeconds = try body.int("run_timeout_seconds") ?? 600
        guard Self.timeoutRange.contains(runTimeoutSeconds) else {
            throw APIError.invalidRequest("run_timeout_seconds: must be between \(Self.timeoutRange.lowerBound) and \(Self.timeoutRange.upperBound)")
        }
    }
}

/// A parsed `POST /v1/evaluations` body (Reverie extension): a plan, the two arms, metadata.
public struct EvaluationRequest: Sendable {
    public var plan: EvaluationPlan
    public var baseline: EvaluationArm
    public var candidate: EvaluationArm
    public var metadata: [String: String]

    public var agentID: String { plan.agentID }
    public var environmentID: String { plan.environmentID }
    public var tasks: [EvaluationTask] { plan.tasks }
    public var repetitions: Int { plan.repetitions }
    public var concurrency: Int { plan.concurrency }
    public var runTimeoutSeconds: Int { plan.runTimeoutSeconds }

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(EvaluationPlan.keys.union(["baseline", "candidate", "metadata"]))
        plan = try EvaluationPlan(body)
        baseline = try Self.arm(body, "baseline")
        candidate = try Self.arm(body, "candidate")
        if baseline == candidate, baseline.memoryStoreID == nil {
            throw APIError.invalidRequest("baseline, candidate: at least one arm must mount a memory store")
        }
        metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))
    }

    /// A request built by Reverie itself (a dream policy's gate), from an already checked plan.
    public init(plan: EvaluationPlan, baseline: EvaluationArm, candidate: EvaluationArm, metadata: [String: String]) {
        self.plan = plan
        self.baseline = baseline
        self.candidate = candidate
        self.metadata = metadata
    }

    /// `{"memory_store_id": "memstore_…" | null}`; absent means no store.
    private static func arm(_ body: ObjectReader, _ name: String) throws(APIError) -> EvaluationArm {
        guard let arm = try body.object(name) else { throw APIError.invalidRequest("\(name): required (use {\"memory_store_id\": null} for no memory)") }
        try arm.rejectUnknown(["memory_store_id"])
        return EvaluationArm(memoryStoreID: try arm.string("memory_store_id"))
    }
}
