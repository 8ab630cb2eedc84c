import Foundation
import ReverieCore
import ReverieModels

/// The grader's request: a fresh conversation with the outcome, the rubric and the
/// deliverable — nothing from the agent's working conversation.
enum GraderPrompt {
    static let system = """
        You are a strict, fair grader. You judge a deliverable against a rubric. You have not seen how the \
        work was done and must judge only what is in front of you. Split the rubric into its individual \
        criteria and decide each one. Reply with a single JSON object and nothing else:
        {"criteria": [{"criterion": "<criterion>", "passed": true|false, "reason": "<why>"}], \
        "result": "satisfied" | "needs_revision", "explanation": "<overall explanation naming every gap>"}
        Use "satisfied" only when every criterion passes.
        """

    static func request(model: String, outcome: Outcome, deliverable: Deliverable, checkVerdicts: [CriterionVerdict]) -> ModelRequest {
        var text = "# Outcome\n\(outcome.description)\n\n# Rubric\n\(outcome.rubric)\n\n# Deliverable\n## Final message\n"
        text += deliverable.finalMessage.isEmpty ? "(none)" : deliverable.finalMessage
        if deliverable.files.isEmpty {
            text += "\n\n## Files in /mnt/session/outputs/\n(none)"
        } else {
            for file in deliverable.files { text += "\n\n## File \(file.path)\n```\n\(file.content)\n```" }
        }
        if !checkVerdicts.isEmpty {
            text += "\n\n# Automated checks (already decided; do not re-judge them)"
            for verdict in checkVerdicts { text += "\n- \(verdict.criterion): \(verdict.passed ? "passed" : "failed") (\(verdict.reason))" }
        }
        return ModelRequest(model: model, system: system, messages: [.user(text)], tools: [], maxTokens: 4096)
    }
}

/// The grader's parsed reply.
struct GraderJudgement: Sendable, Equatable {
    var criteria: [CriterionVerdict]
    var result: String
    var explanation: String

    /// Reads the first JSON object in the reply's text.
    static func parse(_ content: [ContentBlock]) -> GraderJudgement? {
        let text = content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end,
            let value = try? JSONCoding.decode(JSONValue.self, from: String(text[start...end])),
            let result = value["result"]?.stringValue, result == "satisfied" || result == "needs_revision"
        else { return nil }
        let criteria = (value["criteria"]?.arrayValue ?? []).compactMap { item -> CriterionVerdict? in
            guard let name = item["criterion"]?.stringValue, let passed = item["passed"]?.boolValue else { return nil }
            return CriterionVerdict(criterion: name, passed: passed, reason: item["reason"]?.stringValue ?? "", source: "model")
        }
        return GraderJudgement(criteria: criteria, result: result, explanation: value["explanation"]?.stringValue ?? "")
    }
}
