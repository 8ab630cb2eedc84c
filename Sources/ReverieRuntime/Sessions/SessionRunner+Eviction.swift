import Foundation

extension SessionRunner {
    /// Closes idle sandboxes until the task is cancelled, checking a few times per timeout.
    func closeIdleSandboxesPeriodically() async {
        guard let timeout = configuration.sandboxIdleTimeout else { return }
        let interval = min(.seconds(60), max(.milliseconds(100), timeout / 2))
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await closeIdleSandboxes()
        }
    }

    /// Closes the sandboxes of sessions that have had no loop and no running or queued thread
    /// for `configuration.sandboxIdleTimeout`: their bash shells and what those started stop,
    /// their files stay. The next turn opens a fresh sandbox (and a new shell).
    func closeIdleSandboxes(now: ContinuousClock.Instant = .now) async {
        guard let timeout = configuration.sandboxIdleTimeout else { return }
        for id in sandboxes.keys where running[id] == nil {
            guard let since = idleSince[id] else {
                // Opened without a loop (threads resumed on their own): idle from now on.
                idleSince[id] = now
                continue
            }
            if now - since >= timeout { await closeSandboxIfUnused(id) }
        }
    }

    /// A session's resources changed: its sandbox (with the old mounts) is closed now if
    /// nothing uses it, else when it next goes idle for good.
    public func sessionResourcesChanged(id: String) async {
        await closeSandboxIfUnused(id)
    }

    /// Closes a session's sandbox unless a loop or a thread that is not idle uses it.
    private func closeSandboxIfUnused(_ id: String) async {
        guard running[id] == nil, let sandbox = sandboxes[id] else { return }
        let scheduler = threadSchedulers[id]
        if let scheduler {
            guard await scheduler.phases.values.allSatisfy({ $0 == .idle }) else { return }
        }
        // Nothing may have started while this waited for the scheduler.
        guard running[id] == nil, sandboxes[id] === sandbox, threadSchedulers[id] === scheduler else { return }
        sandboxes[id] = nil
        threadSchedulers[id] = nil
        idleSince[id] = nil
        logger.debug("closing sandbox", metadata: ["session": "\(id)"])
        await scheduler?.shutdown()
        await sandbox.close()
    }

    /// Sessions whose sandbox is open (for tests and diagnostics).
    public var openSandboxCount: Int { sandboxes.count }
}
