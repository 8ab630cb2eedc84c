import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels
import ReverieStore

/// Runs one session's child threads: creates them, delivers messages to them, runs up to
/// `limit` at once (the rest wait in order, none is dropped), and reports how each ended.
actor ThreadScheduler {
    /// How a thread stands in this process.
    enum Phase: Sendable, Equatable {
        case queued, running, idle
        /// Idle until the user answers its tool calls (`requires_action`); waiting for the
        /// thread waits for that too.
        case waiting
    }

    /// What a coordinator learns about a thread it waited for.
    struct Report: Sendable, Equatable {
        var threadID: String
        var agentName: String
        var ending: AgentLoop.Ending?
    }

    private struct Member {
        var agent: SessionAgent
        var phase: Phase
        var control: LoopControl?
        var task: Task<Void, Never>?
        var ending: AgentLoop.Ending?
        /// A message arrived while the thread was running.
        var wake = false
    }

    let log: SessionLog
    let session: Session
    let sandbox: Sandbox
    let models: any ModelRouting
    let configuration: RuntimeConfiguration
    let makeExecutionPlane: SessionRunner.PlaneFactory
    /// Connects the specialists' MCP servers (nil: none).
    let mcp: MCPConnector?
    let logger: Logger
    let limit: Int

    private var primaryThreadID: String?
    private var members: [String: Member] = [:]
    private var order: [String] = []
    private var queue: [String] = []
    private var runningCount = 0
    private var accepting = true
    private var loaded = false
    /// Threads a previous process left running; their next run first closes what it left open.
    private var resuming: Set<String> = []
    /// The most threads that ran at once (for tests and diagnostics).
    private(set) var peakRunning = 0

    init(log: SessionLog, session: Session, sandbox: Sandbox, models: any ModelRouting, configuration: RuntimeConfiguration,
         makeExecutionPlane: @escaping SessionRunner.PlaneFactory, mcp: MCPConnector? = nil, logger: Logger) {
        self.mcp = mcp
        self.log = log
        self.session = session
        self.sandbox = sandbox
        self.models = models
        self.configuration = configuration
        self.makeExecutionPlane = makeExecutionPlane
        self.logger = logger
        self.limit = configuration.maxConcurrentThreads
    }

    /// The roster's agent names, for tool descriptions and errors.
    nonisolated var rosterNames: [String] { (session.agent.roster ?? []).map(\.name) }

    // MARK: coordinator operations

    /// Registers the session's existing threads (after a restart) and resumes those that were
    /// running. Idempotent.
    func loadIfNeeded() async {
        guard !loaded else { return }
        loaded = true
        let page: Page<SessionThread>
        do {
            page = try await log.threads(sessionID: session.id, page: PageRequest(limit: 1000, order: .ascending))
        } catch {
            logger.error("could not load threads", metadata: ["session": "\(session.id)", "error": "\(error)"])
            return
        }
        for thread in page.items {
            if thread.isPrimary {
                primaryThreadID = thread.id
                continue
            }
            guard members[thread.id] == nil else { continue }
            members[thread.id] = Member(agent: thread.agent, phase: .idle)
            order.append(thread.id)
            if thread.status == .running || thread.status == .rescheduling {
                resuming.insert(thread.id)
                schedule(thread.id)
            } else if (try? await Self.requiresAction(threadID: thread.id, sessionID: session.id, log: log)) == true {
                members[thread.id]?.phase = .waiting
                members[thread.id]?.ending = .requiresAction
            } else {
                let sent = try? await log.listEvents(
                    sessionID: session.id, filter: EventFilter(types: [.agentThreadMessageSent], threadID: thread.id),
                    page: PageRequest(limit: 1, order: .descending))
                let reply = try? sent?.items.first?.event().text
                members[thread.id]?.ending = .finished(reply ?? "")
            }
        }
    }

    /// Starts a thread running the roster agent `name` (or id) on `task`; returns its id.
    func start(agent name: String, task: String) async throws -> String {
        guard accepting else { throw CancellationError() }
        guard let agent = (session.agent.roster ?? []).first(where: { $0.name == name || $0.id == name }) else {
            throw APIError.invalidRequest(
                "agent: '\(name)' is not on this coordinator's roster; available: \(rosterNames.joined(separator: ", "))")
        }
        let parentID = try await primaryID()
        let threadID = ResourceID.make(ResourceID.thread)
        let now = Timestamp.now()
        let thread = SessionThread(
            id: threadID, sessionID: session.id, agent: agent, parentThreadID: parentID, state: SessionThreadState(updatedAt: now), createdAt: now)
        let content: JSONValue = [["type": "text", "text": .string(task)]]
        let events = [
            SessionEvent(type: .sessionThreadCreated, fields: ["session_thread_id": .string(threadID), "agent_name": .string(agent.name)]),
            SessionEvent(type: .agentThreadMessageSent, fields: [
                "to_session_thread_id": .string(threadID), "to_agent_name": .string(agent.name), "content": content,
            ]),
            SessionEvent(type: .agentThreadMessageReceived, fields: [
                "session_thread_id": .string(threadID), "from_session_thread_id": .string(parentID), "content": content,
            ]),
        ]
        try await log.createThread(thread, events: events)
        members[threadID] = Member(agent: agent, phase: .idle)
        order.append(threadID)
        schedule(threadID)
        return threadID
    }

    /// Delivers a message to a thread, running it again if it is idle.
    func send(to threadID: String, message: String) async throws {
        guard accepting else { throw CancellationError() }
        guard let member = members[threadID] else {
            throw APIError.invalidRequest("thread_id: no thread '\(threadID)' was started in this session")
        }
        let parentID = try await primaryID()
        let content: JSONValue = [["type": "text", "text": .string(message)]]
        try await log.append([
            SessionEvent(type: .agentThreadMessageSent, fields: [
                "to_session_thread_id": .string(threadID), "to_agent_name": .string(member.agent.name), "content": content,
            ]),
            SessionEvent(type: .agentThreadMessageReceived, fields: [
                "session_thread_id": .string(threadID), "from_session_thread_id": .string(parentID), "content": content,
            ]),
        ], to: session.id)
        wake(threadID)
    }

    /// Runs a thread again (new input arrived: a message, or the user's answer to its tool
    /// calls), or notes the input for the run in progress.
    func wake(_ threadID: String) {
        switch members[threadID]?.phase {
        case .running?:
            // A thread waiting for a worker's results waits inside its run and takes the wake there.
            if members[threadID]?.control?.requestWake() != true { members[threadID]?.wake = true }
        case .idle?, .waiting?: schedule(threadID)
        case .queued?, nil: break
        }
    }

    /// Whether the thread's last idle event says it waits for the user.
    private static func requiresAction(threadID: String, sessionID: String, log: SessionLog) async throws -> Bool {
        let idle = try await log.listEvents(
            sessionID: sessionID, filter: EventFilter(types: [.sessionThreadStatusIdle], threadID: threadID),
            page: PageRequest(limit: 1, order: .descending))
        return try idle.items.first?.event().fields["stop_reason"]?["type"]?.stringValue == "requires_action"
    }

    /// Waits until every thread in `threadIDs` (all started threads when nil) is idle.
    /// Throws `CancellationError` when the waiting task is cancelled (an interrupt).
    func wait(for threadIDs: [String]?) async throws -> [Report] {
        let ids = threadIDs ?? order
        for id in ids where members[id] == nil {
            throw APIError.invalidRequest("thread_ids: no thread '\(id)' was started in this session")
        }
        while ids.contains(where: { members[$0]?.phase != .idle }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        return ids.compactMap { id in members[id].map { Report(threadID: id, agentName: $0.agent.name, ending: $0.ending) } }
    }

    /// Stops one thread (running or queued).
    func interrupt(_ threadID: String) {
        guard let member = members[threadID] else { return }
        switch member.phase {
        case .running:
            members[threadID]?.wake = false
            member.control?.interrupt()
        case .queued:
            queue.removeAll { $0 == threadID }
            members[threadID]?.phase = .idle
            members[threadID]?.ending = .interrupted
        case .waiting:
            // Run it once more, interrupted: it answers its open calls and goes idle.
            schedule(threadID)
            if let control = members[threadID]?.control {
                control.interrupt()
            } else {
                interrupt(threadID)
            }
        case .idle:
            break
        }
    }

    /// Stops every thread.
    func interruptAll() {
        for id in order { interrupt(id) }
    }

    /// Stops every loop (server shutdown or session deletion) and waits for them.
    func shutdown() async {
        accepting = false
        queue = []
        let tasks = members.values.compactMap(\.task)
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Threads of this session known to this process, with their phases.
    var phases: [String: Phase] { members.mapValues(\.phase) }

    // MARK: scheduling

    private func primaryID() async throws -> String {
        if let primaryThreadID { return primaryThreadID }
        let id = try await log.ensurePrimaryThread(sessionID: session.id, agent: session.agent)
        primaryThreadID = id
        return id
    }

    private func schedule(_ threadID: String) {
        guard accepting else { return }
        if runningCount < limit {
            launch(threadID)
        } else {
            members[threadID]?.phase = .queued
            queue.append(threadID)
        }
    }

    private func launch(_ threadID: String) {
        guard let member = members[threadID], let parentID = primaryThreadID else { return }
        let control = LoopControl()
        runningCount += 1
        peakRunning = max(peakRunning, runningCount)
        members[threadID]?.phase = .running
        members[threadID]?.control = control
        members[threadID]?.wake = false
        var thread = session
        thread.agent = member.agent
        let provider: any ModelProvider
        do {
            provider = try models.provider(for: member.agent.model.id)
        } catch {
            let message = "The thread could not run: \(ClientMessage.describe(error))"
            logger.error("thread could not run", metadata: ["session": "\(session.id)", "thread": "\(threadID)", "error": "\(String(reflecting: error))"])
            let log = log, sessionID = session.id, name = member.agent.name
            members[threadID]?.task = Task {
                _ = try? await log.append([
                    SessionEvent(type: .sessionError, fields: [
                        "session_thread_id": .string(threadID),
                        "error": ["type": "unknown_error", "message": .string(message), "retry_status": ["type": "terminal"]],
                    ]),
                    SessionEvent(type: .sessionThreadStatusIdle, fields: [
                        "session_thread_id": .string(threadID), "agent_name": .string(name), "stop_reason": ["type": "end_turn"],
                    ]),
                ], to: sessionID)
                self.finished(threadID, .failed(message))
            }
            return
        }
        let resumes = resuming.remove(threadID) != nil
        let contextWindow = models.contextWindow(for: member.agent.model.id)
        let price = models.price(for: member.agent.model.id)
        let (log, sandbox, configuration, logger, makeExecutionPlane, mcp) = (log, sandbox, configuration, logger, makeExecutionPlane, mcp)
        members[threadID]?.task = Task {
            let loop = AgentLoop(
                log: log, session: thread, scope: .thread(threadID, parent: parentID, agentName: member.agent.name),
                toolbox: Toolbox(
                    agent: member.agent, sandbox: sandbox, plane: await makeExecutionPlane(thread, sandbox),
                    mcp: await mcp?.toolsets(for: thread, agent: member.agent) ?? .none),
                provider: provider, contextWindow: contextWindow, price: price, configuration: configuration, control: control, turnEndHandler: nil, logger: logger)
            let ending = await loop.run(resuming: resumes)
            self.finished(threadID, ending)
        }
    }

    private func finished(_ threadID: String, _ ending: AgentLoop.Ending) {
        runningCount -= 1
        members[threadID]?.task = nil
        members[threadID]?.control = nil
        members[threadID]?.ending = ending
        members[threadID]?.phase = ending == .requiresAction ? .waiting : .idle
        if members[threadID]?.wake == true, ending != .shutdown {
            members[threadID]?.wake = false
            schedule(threadID)
        }
        while accepting, runningCount < limit, !queue.isEmpty {
            launch(queue.removeFirst())
        }
    }
}
