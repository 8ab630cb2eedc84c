import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels
import ReverieStore
import ServiceLifecycle

/// Runs agents: the `SessionDriver` that turns client events into session loops, and the
/// `Service` that resumes interrupted sessions at start-up and stops loops at shutdown.
///
/// At most one loop runs per session. Events that arrive while it runs are noted and the
/// loop (which re-reads the log before going idle) picks them up; an interrupt cancels the
/// loop's current model call or tool.
public actor SessionRunner: SessionDriver, Service {
    /// Makes the execution plane that runs the built-in tools of a session's agent (the
    /// session's `agent` is the one that calls them: the coordinator or a specialist) in its sandbox.
    public typealias PlaneFactory = @Sendable (Session, Sandbox) async -> any ExecutionPlane
    public typealias VolumeFactory = @Sendable (Session) async throws -> [any SandboxVolume]

    let log: SessionLog
    let models: any ModelRouting
    let configuration: RuntimeConfiguration
    let makeExecutionPlane: PlaneFactory
    let makeExtraVolumes: VolumeFactory
    let turnEndHandler: (any TurnEndHandler)?
    /// Runs after a session's loop stops (its outputs are recorded as files).
    let loopEnded: @Sendable (String) async -> Void
    let logger: Logger
    /// Which sessions this process may run, when several processes share the database.
    let leases: ProcessLeases
    /// Connects agents' MCP servers (nil: MCP toolsets offer no tools in this process).
    let mcp: MCPConnector?

    struct Running {
        var control: LoopControl
        var task: Task<Void, Never>
    }

    var running: [String: Running] = [:]
    var sandboxes: [String: Sandbox] = [:]
    /// When each session's last loop ended (see `SessionRunner+Eviction.swift`).
    var idleSince: [String: ContinuousClock.Instant] = [:]
    private(set) var accepting = true
    /// Each coordinator session's child threads (see `SessionRunner+Threads.swift`).
    var threadSchedulers: [String: ThreadScheduler] = [:]

    public init(
        log: SessionLog, models: any ModelRouting, configuration: RuntimeConfiguration, makeExecutionPlane: @escaping PlaneFactory,
        makeExtraVolumes: @escaping VolumeFactory = { _ in [] }, loopEnded: @escaping @Sendable (String) async -> Void = { _ in },
        turnEndHandler: (any TurnEndHandler)? = nil, leases: ProcessLeases = ProcessLeases(shared: nil), mcp: MCPConnector? = nil,
        logger: Logger = Logger(label: "reverie.runtime")
    ) {
        self.mcp = mcp
        self.loopEnded = loopEnded
        self.leases = leases
        self.log = log
        self.models = models
        self.configuration = configuration
        self.makeExecutionPlane = makeExecutionPlane
        self.makeExtraVolumes = makeExtraVolumes
        self.turnEndHandler = turnEndHandler
        self.logger = logger
    }

    // MARK: Service

    /// Resumes sessions left running by a previous process, then waits for shutdown. When
    /// several processes share the database, it also takes over, every
    /// `configuration.takeoverInterval`, sessions whose owner stopped heartbeating.
    public func run() async throws {
        try await resumeOrphanedSessions()
        let sweeper = Task { await self.closeIdleSandboxesPeriodically() }
        let takeover = leases.isShared ? Task { await self.takeOverPeriodically() } : nil
        // Returns when graceful shutdown begins (or throws if the task is cancelled).
        try? await gracefulShutdown()
        sweeper.cancel()
        takeover?.cancel()
        await shutdown()
    }

    /// Resumes running sessions no process runs (all of them, on a database this process
    /// alone uses), exactly as at a restart.
    func resumeOrphanedSessions() async throws {
        guard accepting else { return }
        let active = try await log.activeSessionIDs().filter { running[$0] == nil }
        let withThreads = try await log.sessionIDsWithActiveThreads().filter { !active.contains($0) && threadSchedulers[$0] == nil }
        guard !active.isEmpty || !withThreads.isEmpty else { return }
        let owned = await leases.acquire((active + withThreads).map(LeaseKey.session))
        for id in active where owned.contains(LeaseKey.session(id)) && running[id] == nil {
            // A session that keeps failing or crashing the process when resumed is stopped instead.
            let failed = (try? await log.resumptionCount(sessionID: id)) ?? 0
            if failed >= configuration.maxFailedResumptions {
                await stopCrashLooping(sessionID: id, failed: failed)
                await leases.release(LeaseKey.session(id))
                continue
            }
            logger.info("resuming session", metadata: ["session": "\(id)"])
            _ = try? await log.recordResumption(sessionID: id)
            await noteMissingWorkspace(sessionID: id)
            start(sessionID: id, resuming: true, leased: true)
        }
        // Threads left running under a coordinator that had already gone idle resume on their own.
        for id in withThreads where owned.contains(LeaseKey.session(id)) {
            logger.info("resuming threads", metadata: ["session": "\(id)"])
            await resumeThreads(sessionID: id)
        }
    }

    private func takeOverPeriodically() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.takeoverInterval)
            if Task.isCancelled { return }
            do {
                try await resumeOrphanedSessions()
            } catch {
                logger.warning("could not look for sessions to take over", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// A session taken over from another process whose workspace is not here (the data
    /// directory is not shared) gets a `session.error` saying so, and continues with an empty one.
    private func noteMissingWorkspace(sessionID: String) async {
        guard leases.isShared else { return }
        let folder = Sandbox.sessionFolder(dataDirectory: configuration.dataDirectory, sessionID: sessionID)
        guard !FileManager.default.fileExists(atPath: folder.path) else { return }
        let message = """
            Workspace missing: this session was taken over by another server process, which does not have its workspace, so \
            files the agent wrote before are not available. The session continues with an empty workspace. Share the data \
            directory between processes (docs/scaling.md) to keep them.
            """
        logger.warning("taken-over session has no workspace here", metadata: ["session": "\(sessionID)"])
        _ = try? await log.append([
            SessionEvent(type: .sessionError, fields: [
                "error": ["type": "unknown_error", "message": .string(message), "retry_status": ["type": "retrying"]],
            ]),
        ], to: sessionID)
    }

    /// Stops every loop; their sessions stay `running` and resume at the next start.
    public func shutdown() async {
        accepting = false
        let loops = running.values
        for loop in loops { loop.task.cancel() }
        for loop in loops { await loop.task.value }
        await stopThreads()
        for sandbox in sandboxes.values { await sandbox.close() }
        sandboxes = [:]
    }

    /// A budgeted session's `session.usage` snapshot, when its loop stops.
    private func recordUsage(sessionID: String) async {
        guard let session = try? await log.session(id: sessionID), let budget = session.budget,
            let state = try? await log.header(id: sessionID)?.state
        else { return }
        var usage = state.usage.json
        if case .object(var members) = usage {
            members["active_seconds"] = .double(state.activeSeconds)
            usage = .object(members)
        }
        let budgetJSON = (try? JSONCoding.decode(JSONValue.self, from: JSONCoding.data(budget))) ?? .null
        _ = try? await log.append([SessionEvent(type: .sessionUsage, fields: ["usage": usage, "budget": budgetJSON])], to: sessionID)
    }

    // MARK: SessionDriver

    public nonisolated func isBudgetable(model: String) -> Bool { models.price(for: model) != nil }

    public nonisolated func validate(_ events: [SessionEvent], for session: SessionHeader) async throws {
        for (index, event) in events.enumerated() {
            switch event.type {
            case .userToolConfirmation:
                let id = event.fields["tool_use_id"]?.stringValue ?? ""
                let state = try await callState(id, threadID: event.threadID, sessionID: session.id)
                guard let call = state.pending.first(where: { $0.eventID == id && !$0.isCustom }), call.confirmation == nil else {
                    throw APIError.invalidRequest("events[\(index)].tool_use_id: '\(id)' is not a tool call waiting for confirmation\(Self.inThread(event))")
                }
            case .userToolResult:
                let id = event.fields["tool_use_id"]?.stringValue ?? ""
                let state = try await callState(id, threadID: event.threadID, sessionID: session.id)
                guard let call = state.pending.first(where: { $0.eventID == id && !$0.isCustom }) else {
                    throw APIError.invalidRequest("events[\(index)].tool_use_id: '\(id)' is not a tool call waiting for a result\(Self.inThread(event))")
                }
                if call.asksConfirmation, call.confirmation != .allow {
                    throw APIError.invalidRequest("events[\(index)].tool_use_id: '\(id)' waits for a user.tool_confirmation that allows it")
                }
            case .userCustomToolResult:
                let id = event.fields["custom_tool_use_id"]?.stringValue ?? ""
                let state = try await callState(id, threadID: event.threadID, sessionID: session.id)
                guard state.pending.contains(where: { $0.eventID == id && $0.isCustom }) else {
                    throw APIError.invalidRequest("events[\(index)].custom_tool_use_id: '\(id)' is not a custom tool call waiting for a result\(Self.inThread(event))")
                }
            default:
                continue
            }
        }
    }

    /// The state of one tool call of a thread (the primary one without a thread id): the call
    /// event, found by its id, folded with the thread's events after it. Reads only the log's
    /// tail from the call on, never the whole log.
    private nonisolated func callState(_ id: String, threadID: String?, sessionID: String) async throws -> TurnState {
        guard !id.isEmpty, let call = try await log.event(sessionID: sessionID, id: id), call.threadID == threadID,
            call.type == .agentToolUse || call.type == .agentCustomToolUse || call.type == .agentMCPToolUse
        else { return TurnState(events: []) }
        var state = TurnState(events: [try call.event()])
        var after = call.sequence
        while true {
            let batch = try await log.events(sessionID: sessionID, after: after, limit: 1000)
            for stored in batch where stored.threadID == threadID { state.apply(try stored.event()) }
            guard let last = batch.last, batch.count == 1000 else { return state }
            after = last.sequence
        }
    }

    private static func inThread(_ event: SessionEvent) -> String {
        event.threadID.map { " in thread '\($0)'" } ?? ""
    }

    public func eventsAppended(_ events: [StoredEvent], session: SessionHeader) async {
        if events.contains(where: { $0.type == .userInterrupt && $0.threadID == nil }) {
            if let current = running[session.id] {
                current.control.interrupt()
            } else if session.status == .running {
                // A running session with no loop in this process still gets its open calls closed.
                start(sessionID: session.id, resuming: false, interrupted: true)
            }
        }
        await routeThreadInterrupts(events, sessionID: session.id)
        let wakes: Set<EventType> = [.userMessage, .userDefineOutcome, .userToolConfirmation, .userCustomToolResult, .userToolResult]
        // Answers to a thread's tool calls wake that thread; everything else, the session's loop.
        for threadID in Set(events.filter { wakes.contains($0.type) }.compactMap(\.threadID)) {
            await wakeThread(threadID, sessionID: session.id)
        }
        if events.contains(where: { wakes.contains($0.type) && $0.threadID == nil }) {
            start(sessionID: session.id, resuming: false)
        }
    }

    /// Client events another process appended (relayed from the shared database). The
    /// process that appended them started the session's loop if no process ran it; this one
    /// acts when it runs the session, or, after a moment, when nobody took it (the other
    /// process has no runtime, or gave the lease up just then).
    public func eventsAppendedElsewhere(_ events: [StoredEvent], session: SessionHeader) async {
        if running[session.id] == nil, threadSchedulers[session.id] == nil {
            try? await Task.sleep(for: .milliseconds(250))
        }
        await eventsAppended(events, session: session)
    }

    public func sessionDeleted(id: String) async {
        running[id]?.task.cancel()
        await stopThreads(sessionID: id)
        idleSince[id] = nil
        if let sandbox = sandboxes.removeValue(forKey: id) { await sandbox.close() }
        try? FileManager.default.removeItem(at: Sandbox.sessionFolder(dataDirectory: configuration.dataDirectory, sessionID: id))
    }

    // MARK: loops

    /// Starts the session's loop, or tells the running one that new events arrived. On a
    /// shared database the loop first takes the session's lease (unless `leased`); when
    /// another process holds it, that process runs the session and nothing starts here.
    func start(sessionID: String, resuming: Bool, interrupted: Bool = false, leased: Bool = false) {
        guard accepting else { return }
        if let current = running[sessionID] {
            current.control.requestWake()
            return
        }
        let control = LoopControl()
        if interrupted { control.interrupt() }
        let task = Task { await self.runLeasedLoop(sessionID: sessionID, control: control, resuming: resuming, leased: leased) }
        running[sessionID] = Running(control: control, task: task)
    }

    /// Runs the loop while this process holds the session's lease, and gives the lease up when
    /// it ends (unless the session's threads still run here).
    private func runLeasedLoop(sessionID: String, control: LoopControl, resuming: Bool, leased: Bool) async {
        let key = LeaseKey.session(sessionID)
        if !leased, leases.isShared, !(await leases.acquire(key)) {
            running[sessionID] = nil
            return
        }
        var resuming = resuming
        var reported = false
        while true {
            await runLoop(sessionID: sessionID, control: running[sessionID]?.control ?? control, resuming: resuming)
            resuming = false
            reported = false
            guard leases.isShared, threadSchedulers[sessionID] == nil else { break }
            // On a shared database, while the lease is still held (a wake meanwhile is taken below).
            await recordUsage(sessionID: sessionID)
            await loopEnded(sessionID)
            reported = true
            await leases.release(key)
            // Events that arrived while the lease was being given up start a new loop here,
            // if no other process took the session meanwhile.
            guard accepting, !Task.isCancelled, let current = running[sessionID], current.control.takeWakeRequest() else { break }
            guard await leases.acquire(key) else { break }
        }
        running[sessionID] = nil
        if sandboxes[sessionID] != nil { idleSince[sessionID] = .now }
        // After the state above is settled: a new loop may start while this runs.
        if !reported {
            await recordUsage(sessionID: sessionID)
            await loopEnded(sessionID)
        }
    }

    private func runLoop(sessionID: String, control: LoopControl, resuming: Bool) async {
        var resuming = resuming
        var control = control
        while true {
            let ending: AgentLoop.Ending
            do {
                let loop = try await makeLoop(sessionID: sessionID, control: control)
                ending = await loop.run(resuming: resuming)
            } catch {
                ending = await recordStartFailure(sessionID: sessionID, error: error)
            }
            // A resumption that ended without failing (or was stopped by a shutdown) breaks the run.
            if resuming, !ending.isFailure { try? await log.clearResumptions(sessionID: sessionID) }
            resuming = false
            // Events that arrived while the loop was finishing (after any interrupt) get a fresh loop.
            guard ending != .shutdown, accepting, !Task.isCancelled, control.takeWakeRequest() else { break }
            if control.isInterrupted {
                control = LoopControl()
                running[sessionID]?.control = control
            }
        }
    }

    private func makeLoop(sessionID: String, control: LoopControl) async throws -> AgentLoop {
        let session = try await log.session(id: sessionID)
        let sandbox = try await sandbox(for: session)
        let toolbox = Toolbox(
            agent: session.agent, sandbox: sandbox, plane: await makeExecutionPlane(session, sandbox),
            runtimeTools: await coordinatorTools(session, sandbox: sandbox), mcp: await mcp?.toolsets(for: session, agent: session.agent) ?? .none)
        let provider = try models.provider(for: session.agent.model.id)
        return AgentLoop(
            log: log, session: session, scope: .primary, toolbox: toolbox, provider: provider,
            contextWindow: models.contextWindow(for: session.agent.model.id), price: models.price(for: session.agent.model.id),
            configuration: configuration, control: control,
            turnEndHandler: turnEndHandler, logger: logger)
    }

    /// The session's sandbox, created on first use and kept until the session has been idle
    /// for `configuration.sandboxIdleTimeout`.
    func sandbox(for session: Session) async throws -> Sandbox {
        if let existing = sandboxes[session.id] { return existing }
        let volumes = try await makeExtraVolumes(session)
        let sandbox = try Sandbox(
            sessionID: session.id, folder: Sandbox.sessionFolder(dataDirectory: configuration.dataDirectory, sessionID: session.id),
            extraVolumes: volumes)
        sandboxes[session.id] = sandbox
        return sandbox
    }

    /// A loop that could not start (no model configured, session gone) records why and idles.
    private func recordStartFailure(sessionID: String, error: any Error) async -> AgentLoop.Ending {
        if error is CancellationError { return .shutdown }
        if case APIError.Kind.notFound? = (error as? APIError)?.kind { return .failed("session not found") }
        logger.error("session could not start", metadata: ["session": "\(sessionID)", "error": "\(String(reflecting: error))"])
        let message = ClientMessage.describe(error)
        var events = [
            SessionEvent(type: .sessionError, fields: [
                "error": ["type": "unknown_error", "message": .string("The session could not run: \(message)"), "retry_status": ["type": "terminal"]],
            ]),
        ]
        events.append(SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]))
        _ = try? await log.append(events, to: sessionID)
        return .failed(message)
    }

    /// Stops a session that failed or crashed the process on each of its last resumptions, so it
    /// can be read, archived or deleted; a new message starts it afresh.
    private func stopCrashLooping(sessionID: String, failed: Int) async {
        logger.error("not resuming a session that failed when resumed", metadata: ["session": "\(sessionID)", "attempts": "\(failed)"])
        let message = """
            The session was stopped: its last \(failed) resumptions after a restart failed or ended with the server process \
            dying. Its log is intact; send a new message to start a fresh turn.
            """
        _ = try? await log.append([
            SessionEvent(type: .sessionError, fields: [
                "error": ["type": "unknown_error", "message": .string(message), "retry_status": ["type": "terminal"]],
            ]),
            SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]),
        ], to: sessionID)
        try? await log.clearResumptions(sessionID: sessionID)
    }

    /// Sessions with a loop running now (for tests and diagnostics).
    public var activeSessionCount: Int { running.count }
}
