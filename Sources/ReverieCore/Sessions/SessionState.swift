import Foundation

/// The part of a session derived from its event log: status, usage, timing and outcome
/// grading. The store folds each appended event into it in the same transaction.
public struct SessionState: Sendable, Equatable, Codable {
    public var status: SessionStatus
    public var usage: SessionUsage
    public var activeSeconds: Double
    /// When the session last went `running`; nil while not running.
    public var runningSince: Date?
    public var outcomeEvaluations: [OutcomeEvaluation]
    /// The sequence number of the newest event in the log.
    public var lastSequence: Int64
    public var updatedAt: Date

    public init(status: SessionStatus = .idle, usage: SessionUsage = SessionUsage(), activeSeconds: Double = 0, runningSince: Date? = nil,
                outcomeEvaluations: [OutcomeEvaluation] = [], lastSequence: Int64 = 0, updatedAt: Date) {
        self.status = status
        self.usage = usage
        self.activeSeconds = activeSeconds
        self.runningSince = runningSince
        self.outcomeEvaluations = outcomeEvaluations
        self.lastSequence = lastSequence
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case status, usage
        case activeSeconds = "active_seconds"
        case runningSince = "running_since"
        case outcomeEvaluations = "outcome_evaluations"
        case lastSequence = "last_sequence"
        case updatedAt = "updated_at"
    }

    /// Outcome results after which grading has finished.
    public static let terminalOutcomeResults: Set<String> = ["satisfied", "max_iterations_reached", "failed", "interrupted"]

    /// Folds one event into the state.
    public mutating func apply(_ event: SessionEvent) {
        updatedAt = max(updatedAt, event.processedAt)
        switch event.type {
        case .sessionStatusRunning:
            if status != .running { runningSince = event.processedAt }
            status = .running
            startPendingOutcome()
        case .spanModelRequestStart:
            startPendingOutcome()
        case .sessionStatusRescheduled:
            status = .rescheduling
        case .sessionStatusIdle, .sessionStatusTerminated:
            if let since = runningSince {
                activeSeconds += max(0, event.processedAt.timeIntervalSince(since))
            }
            runningSince = nil
            status = event.type == .sessionStatusIdle ? .idle : .terminated
        case .spanModelRequestEnd:
            if let usage = event.fields["model_usage"] {
                self.usage.add(SessionUsage(
                    inputTokens: Int(usage["input_tokens"]?.intValue ?? 0),
                    outputTokens: Int(usage["output_tokens"]?.intValue ?? 0),
                    cacheReadInputTokens: Int(usage["cache_read_input_tokens"]?.intValue ?? 0),
                    cacheCreationInputTokens: Int(usage["cache_creation_input_tokens"]?.intValue ?? 0),
                    listCostMicros: event.fields["list_cost_micros"]?.intValue ?? 0))
            }
        case .userDefineOutcome:
            if let outcomeID = event.fields["outcome_id"]?.stringValue {
                outcomeEvaluations.append(OutcomeEvaluation(
                    outcomeID: outcomeID, description: event.fields["description"]?.stringValue ?? "", iteration: 0, result: "pending"))
            }
        case .spanOutcomeEvaluationStart, .spanOutcomeEvaluationOngoing, .spanOutcomeEvaluationEnd:
            guard let outcomeID = event.fields["outcome_id"]?.stringValue,
                let index = outcomeEvaluations.lastIndex(where: { $0.outcomeID == outcomeID })
            else { break }
            if let iteration = event.fields["iteration"]?.intValue { outcomeEvaluations[index].iteration = Int(iteration) }
            if event.type == .spanOutcomeEvaluationEnd {
                // Usage of grader calls is reported on the span itself.
                if let usage = event.fields["usage"] {
                    self.usage.add(SessionUsage(
                        inputTokens: Int(usage["input_tokens"]?.intValue ?? 0),
                        outputTokens: Int(usage["output_tokens"]?.intValue ?? 0),
                        cacheReadInputTokens: Int(usage["cache_read_input_tokens"]?.intValue ?? 0),
                        cacheCreationInputTokens: Int(usage["cache_creation_input_tokens"]?.intValue ?? 0),
                    listCostMicros: event.fields["list_cost_micros"]?.intValue ?? 0))
                }
                let result = event.fields["result"]?.stringValue ?? "failed"
                outcomeEvaluations[index].explanation = event.fields["explanation"]?.stringValue
                if SessionState.terminalOutcomeResults.contains(result) {
                    outcomeEvaluations[index].result = result
                    outcomeEvaluations[index].completedAt = event.processedAt
                } else {
                    // `needs_revision`: the agent revises, then the next (0-indexed) cycle is graded.
                    outcomeEvaluations[index].result = "running"
                    outcomeEvaluations[index].iteration += 1
                }
            } else {
                outcomeEvaluations[index].result = "evaluating"
            }
        default:
            break
        }
    }

    /// The agent starts working on a `pending` outcome: it becomes `running`.
    private mutating func startPendingOutcome() {
        if let index = outcomeEvaluations.lastIndex(where: { $0.result == "pending" }) { outcomeEvaluations[index].result = "running" }
    }

    /// The outcome still being worked on, if any.
    public var activeOutcome: OutcomeEvaluation? {
        outcomeEvaluations.last { !SessionState.terminalOutcomeResults.contains($0.result) }
    }
}

extension Session {
    /// Overlays the derived state onto the session, computing `stats` as of `now`.
    public mutating func overlay(_ state: SessionState, now: Date = Date()) {
        status = state.status
        usage = state.usage
        outcomeEvaluations = state.outcomeEvaluations
        updatedAt = max(updatedAt, state.updatedAt)
        var active = state.activeSeconds
        if let since = state.runningSince { active += max(0, now.timeIntervalSince(since)) }
        stats = SessionStats(activeSeconds: active, durationSeconds: max(0, now.timeIntervalSince(createdAt)))
    }
}
