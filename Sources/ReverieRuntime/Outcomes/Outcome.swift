import ReverieCore

/// An outcome as defined by `user.define_outcome`, with what grading has produced so far.
struct Outcome: Sendable, Equatable {
    var id: String
    var description: String
    var rubric: String
    var maxIterations: Int
    /// Commands whose exit status decides a criterion (Reverie extension).
    var checks: [CheckSpec]
    /// The model that grades, when not the agent's (Reverie extension `grader_model`).
    var graderModel: String?
    /// Evaluations finished so far.
    var completedIterations: Int

    /// The active (not yet finished) outcome in a log, if any.
    static func active(in events: [SessionEvent]) -> Outcome? {
        var current: Outcome?
        for event in events {
            switch event.type {
            case .userDefineOutcome:
                guard let id = event.fields["outcome_id"]?.stringValue else { continue }
                let rubric = event.fields["rubric"]?["content"]?.stringValue ?? ""
                let declared = (event.fields["checks"]?.arrayValue ?? []).compactMap(CheckSpec.init(json:))
                current = Outcome(
                    id: id, description: event.fields["description"]?.stringValue ?? "", rubric: rubric,
                    maxIterations: Int(event.fields["max_iterations"]?.intValue ?? 3), checks: declared + CheckSpec.parse(rubric: rubric),
                    graderModel: event.fields["grader_model"]?.stringValue, completedIterations: 0)
            case .spanOutcomeEvaluationEnd:
                guard let outcome = current, event.fields["outcome_id"]?.stringValue == outcome.id else { continue }
                let result = event.fields["result"]?.stringValue ?? ""
                if SessionState.terminalOutcomeResults.contains(result) {
                    current = nil
                } else {
                    current?.completedIterations += 1
                }
            default:
                break
            }
        }
        return current
    }
}

/// A deterministic check: a command run in the session's sandbox; exit status 0 passes.
struct CheckSpec: Sendable, Equatable {
    var name: String
    var command: String

    init(name: String, command: String) {
        self.name = name
        self.command = command
    }

    init?(json: JSONValue) {
        guard let command = json["command"]?.stringValue, !command.isEmpty else { return nil }
        self.init(name: json["name"]?.stringValue ?? command, command: command)
    }

    /// Rubric lines of the form `check: <command>` (optionally bulleted, backticks allowed).
    static func parse(rubric: String) -> [CheckSpec] {
        rubric.split(separator: "\n").compactMap { line in
            var text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("-") || text.hasPrefix("*") { text = String(text.dropFirst()).trimmingCharacters(in: .whitespaces) }
            guard text.lowercased().hasPrefix("check:") else { return nil }
            var command = String(text.dropFirst("check:".count)).trimmingCharacters(in: .whitespaces)
            if command.hasPrefix("`"), command.hasSuffix("`"), command.count >= 2 { command = String(command.dropFirst().dropLast()) }
            return command.isEmpty ? nil : CheckSpec(name: command, command: command)
        }
    }
}

/// One criterion's verdict (a Reverie extension on `span.outcome_evaluation_end`).
struct CriterionVerdict: Sendable, Equatable {
    var criterion: String
    var passed: Bool
    var reason: String
    /// `model` (the grader judged it) or `check` (a command's exit status decided it).
    var source: String

    var json: JSONValue {
        ["criterion": .string(criterion), "passed": .bool(passed), "reason": .string(reason), "source": .string(source)]
    }
}
