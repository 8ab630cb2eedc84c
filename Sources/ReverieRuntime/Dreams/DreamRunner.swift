import Foundation
import Logging
import ReverieCore
import ReverieModels
import ReverieStore
import ServiceLifecycle

/// Runs dreams in the background: the `DreamScheduler` the API hands new and canceled dreams
/// to, and the `Service` that resumes unfinished dreams at start-up.
///
/// A dream's plan is saved before anything is written, so a dream interrupted while writing
/// resumes by re-applying its saved plan; one interrupted earlier starts its model stages
/// again (its usage keeps what was already spent). A dream never stays `running` without a
/// task working on it.
public actor DreamRunner: DreamScheduler, Service {
    let ledger: DreamLedger
    let log: SessionLog
    let memory: MemoryService
    let models: any ModelRouting
    let settings: DreamSettings
    let logger: Logger
    let telemetry: any Telemetry
    /// On a shared database, a dream runs in the process holding its lease.
    let leases: ProcessLeases
    let takeoverInterval: Duration

    private var tasks: [String: Task<Void, Never>] = [:]
    private var queue: [String] = []
    private var accepting = true

    public init(ledger: DreamLedger, log: SessionLog, memory: MemoryService, models: any ModelRouting, settings: DreamSettings = DreamSettings(), logger: Logger = Logger(label: "reverie.dreams"), telemetry: any Telemetry = NoTelemetry(), leases: ProcessLeases = ProcessLeases(shared: nil), takeoverInterval: Duration = .seconds(1)) {
        self.telemetry = telemetry
        self.leases = leases
        self.takeoverInterval = takeoverInterval
        self.ledger = ledger
        self.log = log
        self.memory = memory
        self.models = models
        self.settings = settings
        self.logger = logger
    }

    // MARK: Service

    public func run() async throws {
        for id in try await ledger.unfinishedDreamIDs() {
            logger.info("resuming dream", metadata: ["dream": "\(id)"])
            enqueue(id)
        }
        // On a shared database, dreams whose process died are taken over.
        let takeover = leases.isShared ? Task { await self.takeOverPeriodically() } : nil
        try? await gracefulShutdown()
        takeover?.cancel()
        await shutdown()
    }

    private func takeOverPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: takeoverInterval)
            guard accepting, !Task.isCancelled, let ids = try? await ledger.unfinishedDreamIDs() else { continue }
            for id in ids where tasks[id] == nil && !queue.contains(id) { enqueue(id) }
        }
    }

    /// Stops every dream; unfinished ones resume at the next start.
    public func shutdown() async {
        accepting = false
        queue = []
        let running = tasks.values
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    // MARK: DreamScheduler

    public func dreamCreated(id: String) async { enqueue(id) }

    public func dreamCanceled(id: String) async {
        queue.removeAll { $0 == id }
        tasks[id]?.cancel()
    }

    /// Dreams with work in progress (for tests and diagnostics).
    public var activeDreamCount: Int { tasks.count }

    // MARK: running

    private func enqueue(_ id: String) {
        guard accepting, tasks[id] == nil, !queue.contains(id) else { return }
        queue.append(id)
        startQueued()
    }

    private func startQueued() {
        while accepting, tasks.count < settings.maxConcurrentDreams, !queue.isEmpty {
            let id = queue.removeFirst()
            tasks[id] = Task { await self.execute(id) }
        }
    }

    private func finished(_ id: String) {
        tasks[id] = nil
        startQueued()
    }

    private func execute(_ id: String) async {
        defer { finished(id) }
        // Another process runs it (or is about to): nothing to do here.
        guard await leases.acquire(LeaseKey.dream(id)) else { return }
        defer { Task { [leases] in await leases.release(LeaseKey.dream(id)) } }
        do {
            try await perform(id)
        } catch is CancellationError {
            // Canceled by the API (status already says so) or stopped for shutdown (resumes later).
        } catch {
            if Task.isCancelled { return }
            let failure = error as? DreamFailure ?? Self.failure(for: error)
            logger.error("dream failed", metadata: ["dream": "\(id)", "error": "\(String(reflecting: error))"])
            _ = try? await transition(id) { dream in
                dream.status = .failed
                dream.error = DreamError(type: failure.type, message: failure.message)
                dream.stage = nil
            }
        }
    }

    private func perform(_ id: String) async throws {
        guard var dream = try await transition(id, { $0.status = .running }), dream.status == .running else { return }
        let writer = DreamWriter(memory: memory)
        var report: DreamReport
        if let saved = try await ledger.report(id: id) {
            report = saved
        } else {
            let provider: any ModelProvider
            do {
                provider = try models.provider(for: dream.model)
            } catch let error as ModelError {
                throw DreamFailure("invalid_request_error", "model '\(dream.model)' can't be used: \(error.message)")
            }
            let observer = DreamPipeline.Observer(
                stage: { [weak self] stage in try await self?.setStage(id, stage) },
                usage: { [weak self] usage in try await self?.addUsage(id, usage) })
            report = try await DreamPipeline(log: log, memory: memory, provider: provider, settings: settings).plan(dream, observer: observer)
            try Task.checkCancellation()
            // The plan is saved before anything is written: a restart re-applies it.
            try await ledger.save(report)
        }
        try await setStage(id, "write")
        dream = try await ledger.dream(id: id)
        let storeID = try await writer.outputStore(for: dream) { [weak self] storeID in
            try await self?.setOutput(id, storeID)
        }
        if report.outputStoreID != storeID {
            report.outputStoreID = storeID
            try await ledger.save(report)
        }
        try await writer.apply(report, dream: dream, storeID: storeID)
        try Task.checkCancellation()
        _ = try await transition(id) { dream in
            dream.status = .completed
            dream.outputStoreID = storeID
            dream.stage = nil
        }
    }

    /// Changes a dream that is still unfinished; returns nil (and changes nothing) once it was
    /// canceled or ended elsewhere.
    @discardableResult
    private func transition(_ id: String, _ change: @escaping @Sendable (inout Dream) -> Void) async throws -> Dream? {
        let now = Timestamp.now()
        let dream = try await ledger.update(id: id) { current in
            guard !current.status.isTerminal else { return current }
            var next = current
            change(&next)
            next.updatedAt = now
            if next.status.isTerminal { next.endedAt = now }
            return next
        }
        if dream.status.isTerminal, let endedAt = dream.endedAt, endedAt == now {
            telemetry.dreamEnded(status: dream.status.rawValue, seconds: endedAt.timeIntervalSince(dream.createdAt))
        }
        if dream.status == .canceled { throw CancellationError() }
        return dream
    }

    private func setStage(_ id: String, _ stage: String) async throws {
        try await transition(id) { $0.stage = stage }
    }

    private func setOutput(_ id: String, _ storeID: String) async throws {
        try await transition(id) { $0.outputStoreID = storeID }
    }

    private func addUsage(_ id: String, _ usage: TokenUsage) async throws {
        try await transition(id) { dream in
            dream.usage.inputTokens += usage.inputTokens
            dream.usage.outputTokens += usage.outputTokens
            dream.usage.cacheReadInputTokens += usage.cacheReadInputTokens
            dream.usage.cacheCreationInputTokens += usage.cacheCreationInputTokens
        }
    }

    static func failure(for error: any Error) -> DreamFailure {
        if let error = error as? ModelError {
            return DreamFailure(error.retriesExhausted ? "model_unavailable_error" : "model_request_failed_error", "the dreamer model failed: \(error.description)")
        }
        return DreamFailure("internal_error", ClientMessage.describe(error))
    }
}
