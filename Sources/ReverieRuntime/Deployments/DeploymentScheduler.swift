import Foundation
import Logging
import ReverieCore
import ReverieStore
import ServiceLifecycle

/// Fires deployments' cron schedules. Every `pollInterval` it reads the deployments whose
/// next occurrence has come (by `clock`), waits out each one's jitter, fires it through
/// `DeploymentService`, and moves its next occurrence on.
///
/// Exactly once: a scheduled run is stored in the same transaction as its session, and a
/// second run for the same `(deployment, scheduled_at)` is refused by the database, so
/// restarts and several processes sharing a PostgreSQL database each fire an occurrence once.
/// Missed occurrences (the server was down, or a tick came late) are not backfilled: only the
/// latest occurrence within `missWindow` of now fires.
public actor DeploymentScheduler: Service {
    let store: any Store
    let deployments: DeploymentService
    let clock: any ScheduleClock
    let pollInterval: Duration
    let missWindow: TimeInterval
    let logger: Logger

    /// How late an occurrence may still fire by default: a restart inside this window does not lose it.
    public static let defaultMissWindow: TimeInterval = 120

    public init(
        store: any Store, deployments: DeploymentService, clock: any ScheduleClock, pollInterval: Duration = .seconds(1),
        missWindow: TimeInterval = DeploymentScheduler.defaultMissWindow, logger: Logger = Logger(label: "reverie.deployments")
    ) {
        self.store = store
        self.deployments = deployments
        self.clock = clock
        self.pollInterval = pollInterval
        self.missWindow = missWindow
        self.logger = logger
    }

    public func run() async throws {
        let interval = pollInterval
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.tick()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One pass over the due deployments (tests call it directly too).
    public func tick() async {
        let now = clock.now()
        let due: [Deployment]
        do {
            due = try await store.dueDeployments(at: now, limit: 100)
        } catch {
            logger.error("cannot read due deployments", metadata: ["error": "\(ClientMessage.describe(error))"])
            return
        }
        for deployment in due {
            do {
                try await fireIfDue(deployment, now: now)
            } catch {
                logger.error("deployment schedule step failed", metadata: ["deployment": "\(deployment.id)", "error": "\(ClientMessage.describe(error))"])
            }
        }
    }

    private func fireIfDue(_ deployment: Deployment, now: Date) async throws {
        guard let schedule = deployment.schedule, let planned = deployment.nextFireAt else { return }
        var occurrence = planned
        if now.timeIntervalSince(planned) > missWindow {
            // Too late for `planned`: fire only the latest occurrence still inside the window.
            var recent: Date?
            var cursor = now.addingTimeInterval(-missWindow)
            while let candidate = schedule.next(after: cursor), candidate <= now {
                recent = candidate
                cursor = candidate
            }
            logger.warning(
                "deployment missed scheduled occurrences; they are not backfilled",
                metadata: ["deployment": "\(deployment.id)", "from": "\(Timestamp.format(planned))"])
            guard let recent else {
                try await advance(deployment.id, from: planned, to: schedule.next(after: now))
                return
            }
            occurrence = recent
        }
        guard now.timeIntervalSince(occurrence) >= DeploymentSchedule.jitter(for: deployment.id) else { return }
        if let run = try await deployments.fire(deployment, trigger: .schedule(scheduledAt: occurrence)) {
            logger.info(
                "deployment fired",
                metadata: [
                    "deployment": "\(deployment.id)", "run": "\(run.id)", "scheduled_at": "\(Timestamp.format(occurrence))",
                    "session": "\(run.sessionID ?? "-")", "error": "\(run.error?.type ?? "-")",
                ])
        }
        try await advance(deployment.id, from: planned, to: schedule.next(after: occurrence))
    }

    /// Moves the next occurrence on, unless someone else (another process, an update) already did.
    private func advance(_ id: String, from planned: Date, to next: Date?) async throws {
        _ = try await store.updateDeployment(id: id) { current in
            guard current.nextFireAt == planned, current.firesOnSchedule else { return current }
            var moved = current
            moved.nextFireAt = next
            return moved
        }
    }
}
