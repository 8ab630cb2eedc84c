import Foundation
import Logging
import ReverieCore
import ReverieStore
import ServiceLifecycle

/// Runs evaluations in the background: each run is an ordinary session of the agent, with the
/// arm's memory store mounted read-only (so runs never teach each other) and the task as a
/// `user.define_outcome`, created through `SessionService` like any client's session. A run
/// ends when its outcome reaches a final result; one still going after the evaluation's
/// `run_timeout_seconds` is interrupted and counts as not satisfied.
///
/// Each run's session id is saved as soon as it exists and each result as soon as it is known,
/// so an evaluation interrupted by a restart resumes: finished runs are kept, started ones are
/// waited on again (their sessions resume with the server), the rest are started.
public actor EvaluationRunner: EvaluationScheduler, Service {
    let store: any Store
    let sessions: SessionService
    let pollInterval: Duration
    let logger: Logger
    /// On a shared database, an evaluation runs in the process holding its lease.
    let leases: ProcessLeases
    let takeoverInterval: Duration

    private var tasks: [String: Task<Void, Never>] = [:]
    private var accepting = true

    public init(store: any Store, sessions: SessionService, pollInterval: Duration = .milliseconds(100), logger: Logger = Logger(label: "reverie.evaluations"), leases: ProcessLeases = ProcessLeases(shared: nil), takeoverInterval: Duration = .seconds(1)) {
        self.leases = leases
        self.takeoverInterval = takeoverInterval
        self.store = store
        self.sessions = sessions
        self.pollInterval = pollInterval
        self.logger = logger
    }

    // MARK: Service

    public func run() async throws {
        for id in try await store.unfinishedEvaluationIDs() {
            logger.info("resuming evaluation", metadata: ["evaluation": "\(id)"])
            start(id)
        }
        let takeover = leases.isShared ? Task { await self.takeOverPeriodically() } : nil
        try? await gracefulShutdown()
        takeover?.cancel()
        await shutdown()
    }

    private func takeOverPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: takeoverInterval)
            guard accepting, !Task.isCancelled, let ids = try? await store.unfinishedEvaluationIDs() else { continue }
            for id in ids where tasks[id] == nil { start(id) }
        }
    }

    /// Stops every evaluation; unfinished ones resume at the next start.
    public func shutdown() async {
        accepting = false
        let running = tasks.values
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    // MARK: EvaluationScheduler

    public func evaluationCreated(id: String) async { start(id) }

    public func evaluationCanceled(id: String) async {
        tasks[id]?.cancel()
        if let evaluation = try? await store.evaluation(id: id) {
            for run in evaluation.runs where run.state == .running { await interrupt(run.sessionID) }
        }
    }

    /// Evaluations with work in progress (for tests and diagnostics).
    public var activeEvaluationCount: Int { tasks.count }

    // MARK: running

    private func start(_ id: String) {
        guard accepting, tasks[id] == nil else { return }
        tasks[id] = Task { await self.execute(id) }
    }

    private func finished(_ id: String) { tasks[id] = nil }

    private func execute(_ id: String) async {
        defer { finished(id) }
        guard await leases.acquire(LeaseKey.evaluation(id)) else { return }
        defer { Task { [leases] in await leases.release(LeaseKey.evaluation(id)) } }
        do {
            try await perform(id)
        } catch is CancellationError {
            // Canceled (status says so) or stopped for shutdown (resumes later).
        } catch {
            if Task.isCancelled { return }
            logger.error("evaluation failed", metadata: ["evaluation": "\(id)", "error": "\(String(reflecting: error))"])
            let message = ClientMessage.describe(error)
            _ = try? await transition(id) { evaluation in
                evaluation.status = .failed
                evaluation.error = DreamError(type: "internal_error", message: message)
            }
        }
    }

    private func perform(_ id: String) async throws {
        guard let evaluation = try await transition(id, { $0.status = .running }) else { return }
        let pending = evaluation.runs.indices.filter { evaluation.runs[$0].state != .ended }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = pending.makeIterator()
            for _ in 0..<min(evaluation.concurrency, pending.count) {
                guard let index = next.next() else { break }
                group.addTask { try await self.serve(run: index, of: evaluation) }
            }
            while try await group.next() != nil {
                if let index = next.next() { group.addTask { try await self.serve(run: index, of: evaluation) } }
            }
        }
        try Task.checkCancellation()
        try await transition(id) { evaluation in
            evaluation.results = EvaluationResults.compute(tasks: evaluation.tasks, runs: evaluation.runs)
            evaluation.status = .completed
        }
    }

    /// Starts (or finds) one run's session, waits for its outcome, and records the result.
    private func serve(run index: Int, of evaluation: Evaluation) async throws {
        var run = evaluation.runs[index]
        if run.sessionID == nil {
            do {
                let session = try await sessions.createSession(try Self.sessionRequest(for: run, of: evaluation))
                run.sessionID = session.id
                run.state = .running
                let saved = run
                try await transition(evaluation.id) { $0.runs[index] = saved }
            } catch let error as APIError {
                run.state = .ended
                run.result = "error"
                logger.warning("evaluation run could not start", metadata: ["evaluation": "\(evaluation.id)", "error": "\(error.message)"])
                let saved = run
                try await transition(evaluation.id) { $0.runs[index] = saved }
                return
            }
        }
        guard let sessionID = run.sessionID else { return }
        let ended = try await waitForOutcome(sessionID, timeout: .seconds(evaluation.runTimeoutSeconds))
        run.state = .ended
        run.result = ended.result
        run.iterations = ended.iterations
        run.tokens = ended.tokens
        run.seconds = ended.seconds
        let saved = run
        try await transition(evaluation.id) { $0.runs[index] = saved }
    }

    struct RunEnd {
        var result: String
        var iterations: Int
        var tokens: Int
        var seconds: Double
    }

    /// Polls the session until its outcome reaches a final result and the agent stopped, it is
    /// terminated, it stopped without one (an error), or the timeout passes (then interrupted).
    private func waitForOutcome(_ sessionID: String, timeout: Duration) async throws -> RunEnd {
        let session = try await sessions.session(id: sessionID)
        let deadline = ContinuousClock.now + max(.zero, timeout - .seconds(Date().timeIntervalSince(session.createdAt)))
        var idleWithoutResult = 0
        while true {
            try Task.checkCancellation()
            let session = try await sessions.session(id: sessionID)
            let outcome = session.outcomeEvaluations.last
            let result = outcome?.result ?? "pending"
            var end = RunEnd(
                result: result, iterations: (outcome?.iteration ?? 0) + 1,
                tokens: session.usage.inputTokens + session.usage.outputTokens + session.usage.cacheReadInputTokens
                    + session.usage.cacheCreationInputTokens,
                seconds: max(0, session.updatedAt.timeIntervalSince(session.createdAt)))
            let final = SessionState.terminalOutcomeResults.contains(result)
            if session.status == .terminated { return final ? end : RunEnd(result: "error", iterations: 0, tokens: end.tokens, seconds: end.seconds) }
            if session.status == .idle {
                if final { return end }
                // Idle with the outcome unfinished: the loop stopped on an error (or waits for a
                // person). Seen on a few polls in a row, the run is over.
                idleWithoutResult += 1
                if idleWithoutResult >= 10 {
                    end.result = "error"
                    return end
                }
            } else {
                idleWithoutResult = 0
            }
            if ContinuousClock.now >= deadline {
                await interrupt(sessionID)
                end.result = "timeout"
                return end
            }
            try await Task.sleep(for: pollInterval)
        }
    }

    private func interrupt(_ sessionID: String?) async {
        guard let sessionID else { return }
        do {
            _ = try await sessions.sendEvents(sessionID: sessionID, try EventsSendRequest(ObjectReader(["events": [["type": "user.interrupt"]]])))
        } catch {
            logger.debug("interrupting an evaluation session failed", metadata: ["session": "\(sessionID)", "error": "\(ClientMessage.describe(error))"])
        }
    }

    /// The session a run is: the agent, the arm's store mounted read-only, the task as an outcome.
    static func sessionRequest(for run: EvaluationRun, of evaluation: Evaluation) throws(APIError) -> SessionCreateRequest {
        let task = evaluation.tasks[run.task]
        var resources: [JSONValue] = []
        if let storeID = evaluation.memoryStoreID(of: run.arm) {
            resources.append(["type": "memory_store", "memory_store_id": .string(storeID), "access": "read_only"])
        }
        let body: JSONValue = [
            "agent": .string(evaluation.agentID),
            "environment_id": .string(evaluation.environmentID),
            "title": .string(String("\(task.name) · \(run.arm.rawValue) · #\(run.repetition + 1)".prefix(200))),
            "metadata": [
                "reverie.evaluation": .string(evaluation.id), "reverie.evaluation.task": .string(String(task.name.prefix(500))),
                "reverie.evaluation.arm": .string(run.arm.rawValue),
            ],
            "resources": .array(resources),
            "initial_events": [
                [
                    "type": "user.define_outcome", "description": .string(task.prompt),
                    "rubric": ["type": "text", "content": .string(task.rubric)], "max_iterations": .int(Int64(task.maxIterations)),
                ],
            ],
        ]
        return try SessionCreateRequest(try ObjectReader(body))
    }

    /// Changes an evaluation that is still unfinished; nil once it ended. Throws
    /// `CancellationError` when it was canceled.
    @discardableResult
    private func transition(_ id: String, _ change: @escaping @Sendable (inout Evaluation) -> Void) async throws -> Evaluation? {
        let now = Timestamp.now()
        let evaluation = try await store.updateEvaluation(id: id) { current in
            guard !current.status.isTerminal else { return current }
            var next = current
            change(&next)
            next.updatedAt = now
            if next.status.isTerminal { next.endedAt = now }
            return next
        }
        if evaluation.status == .canceled { throw CancellationError() }
        return evaluation.status.isTerminal && evaluation.status != .completed ? nil : evaluation
    }
}
