import Foundation

/// An evaluation (Reverie extension, `eval_…`): a task set run against one agent twice — with
/// a baseline memory store and with a candidate store — N times each, as ordinary sessions
/// graded by outcomes, and the paired comparison of the two.
public struct Evaluation: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, running, completed, failed, canceled

        public var isTerminal: Bool { self == .completed || self == .failed || self == .canceled }
    }

    public var id: String
    public var status: Status
    public var agentID: String
    public var environmentID: String
    public var tasks: [EvaluationTask]
    /// What the baseline arm mounts (nil: no memory store).
    public var baseline: EvaluationArm
    public var candidate: EvaluationArm
    public var repetitions: Int
    /// Sessions run at once.
    public var concurrency: Int
    /// A run still going after this long is interrupted and counted as not satisfied.
    public var runTimeoutSeconds: Int
    public var metadata: [String: String]
    /// Every run, in the order they are started (task, then repetition, then arm).
    public var runs: [EvaluationRun]
    /// Set once every run ended.
    public var results: EvaluationResults?
    public var error: DreamError?
    public var createdAt: Date
    public var updatedAt: Date
    public var endedAt: Date?

    public init(id: String, agentID: String, environmentID: String, tasks: [EvaluationTask], baseline: EvaluationArm, candidate: EvaluationArm,
                repetitions: Int, concurrency: Int, runTimeoutSeconds: Int, metadata: [String: String], createdAt: Date) {
        self.id = id
        self.status = .pending
        self.agentID = agentID
        self.environmentID = environmentID
        self.tasks = tasks
        self.baseline = baseline
        self.candidate = candidate
        self.repetitions = repetitions
        self.concurrency = concurrency
        self.runTimeoutSeconds = runTimeoutSeconds
        self.metadata = metadata
        var runs: [EvaluationRun] = []
        for task in tasks.indices {
            for repetition in 0..<repetitions {
                for arm in EvaluationRun.Arm.allCases { runs.append(EvaluationRun(task: task, arm: arm, repetition: repetition)) }
            }
        }
        self.runs = runs
        self.results = nil
        self.error = nil
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.endedAt = nil
    }

    /// The store an arm mounts.
    public func memoryStoreID(of arm: EvaluationRun.Arm) -> String? {
        arm == .baseline ? baseline.memoryStoreID : candidate.memoryStoreID
    }

    enum CodingKeys: String, CodingKey {
        case id, type, status, tasks, baseline, candidate, repetitions, concurrency, metadata, runs, results, error
        case agentID = "agent_id"
        case environmentID = "environment_id"
        case runTimeoutSeconds = "run_timeout_seconds"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case endedAt = "ended_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        status = try container.decode(Status.self, forKey: .status)
        agentID = try container.decode(String.self, forKey: .agentID)
        environmentID = try container.decode(String.self, forKey: .environmentID)
        tasks = try container.decode([EvaluationTask].self, forKey: .tasks)
        baseline = try container.decode(EvaluationArm.self, forKey: .baseline)
        candidate = try container.decode(EvaluationArm.self, forKey: .candidate)
        repetitions = try container.decode(Int.self, forKey: .repetitions)
        concurrency = try container.decode(Int.self, forKey: .concurrency)
        runTimeoutSeconds = try container.decode(Int.self, forKey: .runTimeoutSeconds)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        runs = try container.decode([EvaluationRun].self, forKey: .runs)
        results = try container.decodeIfPresent(EvaluationResults.self, forKey: .results)
        error = try container.decodeIfPresent(DreamError.self, forKey: .error)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        endedAt = try container.decodeIfPresent(Date.self, forKey: .endedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("evaluation", forKey: .type)
        try container.encode(status, forKey: .status)
        try container.encode(agentID, forKey: .agentID)
        try container.encode(environmentID, forKey: .environmentID)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(baseline, forKey: .baseline)
        try container.encode(candidate, forKey: .candidate)
        try container.encode(repetitions, forKey: .repetitions)
        try container.encode(concurrency, forKey: .concurrency)
        try container.encode(runTimeoutSeconds, forKey: .runTimeoutSeconds)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(runs, forKey: .runs)
        try container.encode(results, forKey: .results)
        try container.encode(error, forKey: .error)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(endedAt, forKey: .endedAt)
    }
}

/// One task: what the agent is asked (the outcome's description) and how it is graded.
public struct EvaluationTask: Codable, Sendable, Equatable {
    public var name: String
    public var prompt: String
    public var rubric: String
    public var maxIterations: Int

    public init(name: String, prompt: String, rubric: String, maxIterations: Int) {
        self.name = name
        self.prompt = prompt
        self.rubric = rubric
        self.maxIterations = maxIterations
    }

    enum CodingKeys: String, CodingKey {
        case name, prompt, rubric
        case maxIterations = "max_iterations"
    }
}

/// What one arm's sessions mount.
public struct EvaluationArm: Codable, Sendable, Equatable {
    public var memoryStoreID: String?

    public init(memoryStoreID: String?) {
        self.memoryStoreID = memoryStoreID
    }

    enum CodingKeys: String, CodingKey {
        case memoryStoreID = "memory_store_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(memoryStoreID, forKey: .memoryStoreID)
    }
}

/// One session of an evaluation and how it ended.
public struct EvaluationRun: Codable, Sendable, Equatable {
    public enum Arm: String, Codable, Sendable, CaseIterable {
        case baseline, candidate
    }

    public enum State: String, Codable, Sendable {
        case pending, running, ended
    }

    /// Index into the evaluation's tasks.
    public var task: Int
    public var arm: Arm
    public var repetition: Int
    public var state: State
    public var sessionID: String?
    /// The outcome's final result (`satisfied`, `max_iterations_reached`, `failed`,
    /// `interrupted`), `timeout`, or `error` when the session could not run.
    public var result: String?
    /// Grader evaluations the outcome took.
    public var iterations: Int
    public var tokens: Int
    public var seconds: Double

    public init(task: Int, arm: Arm, repetition: Int) {
        self.task = task
        self.arm = arm
        self.repetition = repetition
        self.state = .pending
        self.sessionID = nil
        self.result = nil
        self.iterations = 0
        self.tokens = 0
        self.seconds = 0
    }

    public var satisfied: Bool { result == "satisfied" }

    enum CodingKeys: String, CodingKey {
        case task, arm, repetition, state, result, iterations, tokens, seconds
        case sessionID = "session_id"
    }
}
