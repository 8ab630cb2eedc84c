import ReverieCore
import ReverieExecution
import ReverieStore

extension SessionRunner {
    /// The delegation tools of a coordinator session (none for other agents).
    /// Threads a previous process left running resume here.
    func coordinatorTools(_ session: Session, sandbox: Sandbox) async -> [String: any SandboxTool] {
        guard let roster = session.agent.roster, !roster.isEmpty else { return [:] }
        let scheduler = threadScheduler(for: session, sandbox: sandbox)
        await scheduler.loadIfNeeded()
        return CoordinatorTools.tools(scheduler)
    }

    /// Resumes the running threads of a session whose coordinator is idle.
    func resumeThreads(sessionID: String) async {
        do {
            let session = try await log.session(id: sessionID)
            let sandbox = try await sandbox(for: session)
            _ = await coordinatorTools(session, sandbox: sandbox)
        } catch {
            logger.error("could not resume threads", metadata: ["session": "\(sessionID)", "error": "\(error)"])
        }
    }

    /// Runs a thread again after the user answered its tool calls.
    func wakeThread(_ threadID: String, sessionID: String) async {
        guard accepting else { return }
        if threadSchedulers[sessionID] == nil {
            // On a shared database, the process holding the session's lease runs its threads.
            if leases.isShared, running[sessionID] == nil {
                guard await leases.acquire(LeaseKey.session(sessionID)) else { return }
            }
            await resumeThreads(sessionID: sessionID)
        }
        await threadSchedulers[sessionID]?.wake(threadID)
    }

    /// The session's thread scheduler, made on first use.
    func threadScheduler(for session: Session, sandbox: Sandbox) -> ThreadScheduler {
        if let existing = threadSchedulers[session.id] { return existing }
        let scheduler = ThreadScheduler(
            log: log, session: session, sandbox: sandbox, models: models, configuration: configuration,
            makeExecutionPlane: makeExecutionPlane, mcp: mcp, logger: logger)
        threadSchedulers[session.id] = scheduler
        return scheduler
    }

    /// `user.interrupt` with a `session_thread_id` stops that thread; without one, every thread.
    func routeThreadInterrupts(_ events: [StoredEvent], sessionID: String) async {
        guard let scheduler = threadSchedulers[sessionID] else { return }
        for event in events where event.type == .userInterrupt {
            if let threadID = event.threadID {
                await scheduler.interrupt(threadID)
            } else {
                await scheduler.interruptAll()
            }
        }
    }

    /// Stops the threads of one session, or of all sessions.
    func stopThreads(sessionID: String? = nil) async {
        let schedulers = sessionID.map { id in threadSchedulers[id].map { [$0] } ?? [] } ?? Array(threadSchedulers.values)
        for scheduler in schedulers { await scheduler.shutdown() }
        if let sessionID { threadSchedulers[sessionID] = nil } else { threadSchedulers = [:] }
    }

    /// The most child threads that ran at once in a session (for tests and benchmarks).
    public func peakConcurrentThreads(sessionID: String) async -> Int {
        await threadSchedulers[sessionID]?.peakRunning ?? 0
    }
}
