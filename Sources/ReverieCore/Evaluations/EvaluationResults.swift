import Foundation

/// What an evaluation found: per task and overall, each arm's satisfied rate, iterations to
/// satisfied, tokens and time, and a paired comparison of candidate against baseline.
///
/// Runs are paired by task and repetition. In a pair, the arm whose outcome was satisfied wins;
/// when both were, the one that needed fewer grader iterations wins; otherwise it is a tie. The
/// verdict is an exact two-sided sign test over the pairs that were not ties: `better` or
/// `worse` when p < `significance` (0.05), else `no_different`. With fewer than six untied
/// pairs no difference can be significant at 0.05.
public struct EvaluationResults: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable {
        case better
        case noDifferent = "no_different"
        case worse
    }

    public struct ArmSummary: Codable, Sendable, Equatable {
        public var runs: Int
        public var satisfied: Int
        public var satisfiedRate: Double
        /// Mean grader iterations of the satisfied runs (nil when none was).
        public var meanIterationsToSatisfied: Double?
        public var meanTokens: Double
        public var meanSeconds: Double

        enum CodingKeys: String, CodingKey {
            case runs, satisfied
            case satisfiedRate = "satisfied_rate"
            case meanIterationsToSatisfied = "mean_iterations_to_satisfied"
            case meanTokens = "mean_tokens"
            case meanSeconds = "mean_seconds"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(runs, forKey: .runs)
            try container.encode(satisfied, forKey: .satisfied)
            try container.encode(satisfiedRate, forKey: .satisfiedRate)
            try container.encode(meanIterationsToSatisfied, forKey: .meanIterationsToSatisfied)
            try container.encode(meanTokens, forKey: .meanTokens)
            try container.encode(meanSeconds, forKey: .meanSeconds)
        }
    }

    public struct Comparison: Codable, Sendable, Equatable {
        public var pairs: Int
        public var candidateWins: Int
        public var baselineWins: Int
        public var ties: Int
        /// Two-sided exact sign test.
        public var pValue: Double
        public var verdict: Verdict

        enum CodingKeys: String, CodingKey {
            case pairs, ties, verdict
            case candidateWins = "candidate_wins"
            case baselineWins = "baseline_wins"
            case pValue = "p_value"
        }
    }

    public struct TaskResult: Codable, Sendable, Equatable {
        public var name: String
        public var baseline: ArmSummary
        public var candidate: ArmSummary
        public var comparison: Comparison
    }

    public var tasks: [TaskResult]
    public var baseline: ArmSummary
    public var candidate: ArmSummary
    public var comparison: Comparison

    /// Summarises ended runs.
    public static func compute(tasks: [EvaluationTask], runs: [EvaluationRun], significance: Double = 0.05) -> EvaluationResults {
        let perTask = tasks.indices.map { index in
            let mine = runs.filter { $0.task == index }
            return TaskResult(
                name: tasks[index].name, baseline: summary(mine.filter { $0.arm == .baseline }),
                candidate: summary(mine.filter { $0.arm == .candidate }), comparison: compare(mine, significance: significance))
        }
        return EvaluationResults(
            tasks: perTask, baseline: summary(runs.filter { $0.arm == .baseline }), candidate: summary(runs.filter { $0.arm == .candidate }),
            comparison: compare(runs, significance: significance))
    }

    static func summary(_ runs: [EvaluationRun]) -> ArmSummary {
        let satisfied = runs.filter(\.satisfied)
        let count = Double(max(runs.count, 1))
        return ArmSummary(
            runs: runs.count, satisfied: satisfied.count, satisfiedRate: runs.isEmpty ? 0 : Double(satisfied.count) / Double(runs.count),
            meanIterationsToSatisfied: satisfied.isEmpty ? nil : Double(satisfied.reduce(0) { $0 + $1.iterations }) / Double(satisfied.count),
            meanTokens: Double(runs.reduce(0) { $0 + $1.tokens }) / count, meanSeconds: runs.reduce(0) { $0 + $1.seconds } / count)
    }

    static func compare(_ runs: [EvaluationRun], significance: Double) -> Comparison {
        var wins = 0, losses = 0, ties = 0
        let baseline = Dictionary(runs.filter { $0.arm == .baseline }.map { ("\($0.task)/\($0.repetition)", $0) }, uniquingKeysWith: { first, _ in first })
        for candidate in runs where candidate.arm == .candidate {
            guard let other = baseline["\(candidate.task)/\(candidate.repetition)"] else { continue }
            switch (candidate.satisfied, other.satisfied) {
            case (true, false): wins += 1
            case (false, true): losses += 1
            case (true, true) where candidate.iterations < other.iterations: wins += 1
            case (true, true) where candidate.iterations > other.iterations: losses += 1
            default: ties += 1
            }
        }
        let p = signTest(wins, losses)
        let verdict: Verdict = p < significance ? (wins > losses ? .better : .worse) : .noDifferent
        return Comparison(pairs: wins + losses + ties, candidateWins: wins, baselineWins: losses, ties: ties, pValue: p, verdict: verdict)
    }

    /// The two-sided exact sign test: the chance of a split at least this uneven if either arm
    /// were as likely to win each pair.
    public static func signTest(_ a: Int, _ b: Int) -> Double {
        let n = a + b
        guard n > 0 else { return 1 }
        var tail = 0.0
        var coefficient = 1.0  // C(n, i)
        for i in 0...min(a, b) {
            if i > 0 { coefficient = coefficient * Double(n - i + 1) / Double(i) }
            tail += coefficient
        }
        return min(1, 2 * tail / pow(2, Double(n)))
    }
}
