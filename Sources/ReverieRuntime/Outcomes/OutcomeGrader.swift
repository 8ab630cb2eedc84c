import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels

/// Grades outcomes when the agent ends its turn: runs the rubric's check commands, then asks
/// a grader model — in a fresh context holding only the outcome, the rubric and the
/// deliverable, never the agent's working conversation — for a verdict per criterion.
/// `needs_revision` sends the agent back to work with the gaps; the loop stops at
/// `satisfied`, `max_iterations_reached` (after one acknowledgment turn), `failed` or `interrupted`.
public struct OutcomeGrader: TurnEndHandler {
    let log: SessionLog
    let models: any ModelRouting
    let logger: Logger
    /// Largest deliverable text sent to the grader.
    let maxDeliverableCharacters: Int

    public init(log: SessionLog, models: any ModelRouting, logger: Logger = Logger(label: "reverie.grader"), maxDeliverableCharacters: Int = 200_000) {
        self.log = log
        self.models = models
        self.logger = logger
        self.maxDeliverableCharacters = maxDeliverableCharacters
    }

    public func agentEndedTurn(_ turn: EndedTurn) async throws -> TurnEndDecision {
        guard let outcome = Outcome.active(in: turn.events) else { return .finish }
        let sessionID = turn.session.id
        // Cycles are 0-indexed: 0 is the first evaluation, 1 the one after the first revision.
        let iteration = outcome.completedIterations
        // A grading a restart cut short is resumed inside its own span rather than left open.
        let startID: String
        if let open = Self.openEvaluationStart(of: outcome.id, in: turn.events) {
            startID = open
        } else {
            let start = SessionEvent(type: .spanOutcomeEvaluationStart, fields: ["outcome_id": .string(outcome.id), "iteration": .int(Int64(iteration))])
            try await log.append([start], to: sessionID)
            startID = start.id
        }

        var verdicts: [CriterionVerdict] = []
        var usage = TokenUsage()
        var listCostMicros: Int64?
        let result: String
        var explanation: String
        do {
            for check in outcome.checks {
                let plane = turn.plane
                let run = try await turn.control.perform { await plane.runCheck(check.command, timeout: CheckCommand.defaultTimeout) }
                let reason = run.timedOut ? "timed out" : "exit status \(run.exitCode)" + (run.output.isEmpty ? "" : ": \(run.output.suffix(500))")
                verdicts.append(CriterionVerdict(criterion: check.name, passed: run.passed, reason: reason, source: "check"))
            }
            try await log.append([SessionEvent(type: .spanOutcomeEvaluationOngoing, fields: [
                "outcome_id": .string(outcome.id), "iteration": .int(Int64(iteration)),
            ])], to: sessionID)
            let deliverable = try await Deliverable.collect(events: turn.events, sandbox: turn.sandbox, limit: maxDeliverableCharacters)
            let request = GraderPrompt.request(
                model: outcome.graderModel ?? turn.session.agent.model.id, outcome: outcome, deliverable: deliverable, checkVerdicts: verdicts)
            let provider = try models.provider(for: request.model)
            let response = try await turn.control.perform { try await provider.complete(request) }
            usage = response.usage
            listCostMicros = models.price(for: request.model)?.micros(for: usage)
            if let judgement = GraderJudgement.parse(response.content) {
                verdicts += judgement.criteria
                let checksFailed = verdicts.contains { $0.source == "check" && !$0.passed }
                let modelSatisfied = judgement.result == "satisfied" && judgement.criteria.allSatisfy(\.passed)
                let satisfied = modelSatisfied && !checksFailed
                explanation = judgement.explanation
                if satisfied {
                    result = "satisfied"
                } else {
                    result = iteration + 1 >= outcome.maxIterations ? "max_iterations_reached" : "needs_revision"
                    let gaps = verdicts.filter { !$0.passed }.map { "- \($0.criterion): \($0.reason)" }
                    if !gaps.isEmpty { explanation += "\n\nUnmet criteria:\n" + gaps.joined(separator: "\n") }
                }
            } else {
                result = "failed"
                explanation = "The grader's reply could not be read as a verdict."
            }
        } catch let error where turn.control.isInterrupted || error is CancellationError {
            if !turn.control.isInterrupted { throw error }
            result = "interrupted"
            explanation = "Grading was interrupted by the user."
        } catch {
            logger.warning("grader failed", metadata: ["session": "\(sessionID)", "error": "\(String(reflecting: error))"])
            result = "failed"
            explanation = "The grader could not judge the deliverable: \(ClientMessage.describe(error))"
        }
        var end = SessionEvent(type: .spanOutcomeEvaluationEnd, fields: [
            "outcome_id": .string(outcome.id), "outcome_evaluation_start_id": .string(startID), "iteration": .int(Int64(iteration)),
            "result": .string(result), "explanation": .string(explanation),
            "usage": [
                "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
                "cache_read_input_tokens": .int(Int64(usage.cacheReadInputTokens)),
                "cache_creation_input_tokens": .int(Int64(usage.cacheCreationInputTokens)),
            ],
            "criteria": .array(verdicts.map(\.json)),
        ])
        // The grader's calls count toward the session's list cost (and its budget).
        if let listCostMicros { end.fields["list_cost_micros"] = .int(listCostMicros) }
        try await log.append([end], to: sessionID)
        // `needs_revision` sends the agent back to work; `max_iterations_reached` gives it one
        // final turn to acknowledge the remaining gaps (no further evaluation runs).
        return result == "needs_revision" || result == "max_iterations_reached" ? .continueWorking : .finish
    }

    /// The id of the outcome's latest `span.outcome_evaluation_start` if no end closed it.
    static func openEvaluationStart(of outcomeID: String, in events: [SessionEvent]) -> String? {
        for event in events.reversed() where event.fields["outcome_id"]?.stringValue == outcomeID {
            switch event.type {
            case .spanOutcomeEvaluationEnd: return nil
            case .spanOutcomeEvaluationStart: return event.id
            default: continue
            }
        }
        return nil
    }

    /// An interrupt while an outcome is active (the agent working or revising) ends it as
    /// `interrupted`, so that later turns are ordinary ones.
    public func turnInterrupted(events: [SessionEvent]) -> [SessionEvent] {
        guard let outcome = Outcome.active(in: events) else { return [] }
        let iteration = JSONValue.int(Int64(outcome.completedIterations))
        let start = SessionEvent(type: .spanOutcomeEvaluationStart, fields: ["outcome_id": .string(outcome.id), "iteration": iteration])
        let end = SessionEvent(type: .spanOutcomeEvaluationEnd, fields: [
            "outcome_id": .string(outcome.id), "outcome_evaluation_start_id": .string(start.id), "iteration": iteration,
            "result": "interrupted", "explanation": "The user interrupted the session before the outcome was met.",
            "usage": ["input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0],
            "criteria": [],
        ])
        return [start, end]
    }
}
