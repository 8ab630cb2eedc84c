import Foundation
import ReverieCore

/// The mock server's shared state: the scenario, how often each rule matched, and the
/// recorded requests. One actor hop per request keeps matching and counting consistent.
actor MockLLMState {
    /// How a request is answered.
    struct Plan: Sendable {
        var step: MockStep
        /// Whether the step's failure injection applies to this match.
        var failing: Bool
        var defaults: MockDefaults
        /// A per-server serial number for making ids.
        var serial: Int
    }

    private(set) var scenario: MockScenario
    private var matchCounts: [Int: Int] = [:]
    private var recorded: [RecordedRequest] = []
    private var serial = 0
    /// Gates opened so far, and the requests waiting at closed ones.
    private var openGates: Set<String> = []
    private var waiting: [String: [UUID: CheckedContinuation<Void, any Error>]] = [:]
    /// The simulated prompt cache (Anthropic `cache_control`).
    private var promptCache = MockPromptCache.Entries()
    let recordLimit: Int

    init(scenario: MockScenario, recordLimit: Int) {
        self.scenario = scenario
        self.recordLimit = max(1, recordLimit)
    }

    /// Picks the rule and step for a request and records it.
    func plan(_ conversation: MockConversation, request: RecordedRequest) -> Plan {
        serial += 1
        var request = request
        defer { append(request) }
        for (index, rule) in scenario.rules.enumerated() where rule.matches(conversation) {
            let count = matchCounts[index, default: 0]
            if let times = rule.times, count >= times { continue }
            matchCounts[index] = count + 1
            let step = rule.sequence[min(count, rule.sequence.count - 1)]
            let failing = step.injectsFailure && (step.failTimes.map { count < $0 } ?? true)
            request.rule = rule.name ?? "rules[\(index)]"
            return Plan(step: step, failing: failing, defaults: scenario.defaults, serial: serial)
        }
        request.rule = "fallback"
        let step = scenario.fallback
        return Plan(step: step, failing: step.injectsFailure, defaults: scenario.defaults, serial: serial)
    }

    /// Reads a request's cacheable prefixes from the simulated prompt cache, writing those missing.
    func lookUpPromptCache(_ breakpoints: [MockPromptCache.Breakpoint]) -> MockPromptCache.Lookup {
        promptCache.lookUp(breakpoints)
    }

    /// Records a request that was rejected before matching.
    func record(_ request: RecordedRequest) {
        append(request)
    }

    /// Replaces the scenario and resets the rules' match counts.
    func replace(_ scenario: MockScenario) {
        self.scenario = scenario
        matchCounts = [:]
    }

    /// The recorded requests, oldest first (at most `recordLimit`, the most recent).
    func requests() -> [RecordedRequest] {
        Array(recorded.suffix(recordLimit))
    }

    /// Returns once `gate` is open; throws `CancellationError` when the waiting task is cancelled.
    func pass(_ gate: String) async throws {
        if openGates.contains(gate) { return }
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting[gate, default: [:]][id] = continuation
                }
            }
        } onCancel: {
            Task { await self.abandon(gate, id) }
        }
    }

    private func abandon(_ gate: String, _ id: UUID) {
        waiting[gate]?.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    /// Opens `gate` for good, releasing every request held at it.
    func open(_ gate: String) {
        openGates.insert(gate)
        for continuation in (waiting.removeValue(forKey: gate) ?? [:]).values { continuation.resume() }
    }

    /// How many requests wait at `gate`.
    func held(at gate: String) -> Int { waiting[gate]?.count ?? 0 }

    func clearRequests() {
        recorded.removeAll()
    }

    private func append(_ request: RecordedRequest) {
        recorded.append(request)
        // Trim in bulk so that recording stays O(1) amortised.
        if recorded.count >= 2 * recordLimit { recorded.removeFirst(recorded.count - recordLimit) }
    }
}
