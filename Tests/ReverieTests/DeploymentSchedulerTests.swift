import Foundation
import Synchronization
import Testing
@testable import ReverieCore
@testable import ReverieRuntime
@testable import ReverieStore

/// A schedule clock tests move by hand.
final class ManualScheduleClock: ScheduleClock {
    private let current: Mutex<Date>

    init(_ date: Date) { current = Mutex(date) }

    func now() -> Date { current.withLock { $0 } }

    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// The deployment scheduler against a real database: each scheduled occurrence makes exactly
/// one run and one session, across schedulers sharing the database and across reopening it;
/// missed occurrences are not backfilled; pause stops firing; a run that cannot work pauses.
@Suite struct DeploymentSchedulerTests {
    struct Fixture {
        let handle: StoreHandle
        let platform: Platform
        let clock: ManualScheduleClock
        let service: DeploymentService
        let environmentID: String
        let agentID: String

        init(_ backend: StoreBackend, at start: Date) async throws {
            handle = try await backend.open()
            platform = Platform.withoutRuntime(store: handle.store, dataDirectory: TemporaryDirectory.make())
            clock = ManualScheduleClock(start)
            service = Self.service(platform, handle.store, clock)
            agentID = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "nightly", "model": "mock-model"]))).id
            environmentID = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "e"]), creating: true)).id
        }

        static func service(_ platform: Platform, _ store: any Store, _ clock: ManualScheduleClock) -> DeploymentService {
            DeploymentService(store: store, sessions: platform.sessions, memory: platform.memory, clock: clock)
        }

        func scheduler(on store: (any Store)? = nil) -> DeploymentScheduler {
            let store = store ?? handle.store
            let platform = Platform.withoutRuntime(store: store, dataDirectory: TemporaryDirectory.make())
            return DeploymentScheduler(store: store, deployments: Self.service(platform, store, clock), clock: clock)
        }

        func create(expression: String = "* * * * *") async throws -> DeploymentResponse {
            try await service.createDeployment(try DeploymentCreateRequest(ObjectReader([
                "name": "every minute", "agent": .string(agentID), "environment_id": .string(environmentID),
                "initial_events": [["type": "user.message", "content": [["type": "text", "text": "nightly report"]]]],
                "schedule": ["type": "cron", "expression": .string(expression), "timezone": "UTC"],
            ])))
        }

        func runs(_ deploymentID: String, store: (any Store)? = nil) async throws -> [DeploymentRun] {
            try await (store ?? handle.store).listDeploymentRuns(DeploymentRunFilter(deploymentID: deploymentID), page: PageRequest(limit: 100)).items
        }
    }

    func date(_ text: String) throws -> Date {
        guard let date = Timestamp.parse(text) else { throw TestFailure("bad date \(text)") }
        return date
    }

    @Test(arguments: StoreBackend.allCases) func eachOccurrenceFiresOnceAcrossSchedulersAndRestarts(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend, at: try date("2026-11-30T10:00:30Z"))
        let deployment = try await fixture.create()
        #expect(deployment.upcomingRuns.first == (try date("2026-11-30T10:01:00Z")))

        // Before the minute (and its jitter) nothing fires.
        fixture.clock.set(try date("2026-11-30T10:00:59Z"))
        await fixture.scheduler().tick()
        #expect(try await fixture.runs(deployment.deployment.id).isEmpty)

        // Two schedulers, as two processes would run, race for the same occurrence; on
        // PostgreSQL the second one has a connection pool of its own.
        fixture.clock.set(try date("2026-11-30T10:01:59Z"))
        let other = try await fixture.handle.reopenStore()
        let (first, second) = (fixture.scheduler(), fixture.scheduler(on: other))
        async let a: Void = first.tick()
        async let b: Void = second.tick()
        _ = await (a, b)
        await first.tick()
        var runs = try await fixture.runs(deployment.deployment.id)
        #expect(runs.count == 1)
        #expect(runs.first?.trigger == .schedule(scheduledAt: try date("2026-11-30T10:01:00Z")))
        let sessionID = try #require(runs.first?.sessionID)
        let session = try #require(try await fixture.handle.store.session(id: sessionID))
        #expect(session.deploymentID == deployment.deployment.id)
        let events = try await fixture.handle.store.events(sessionID: sessionID, after: 0, limit: 10)
        #expect(events.contains { $0.type == .userMessage })
        if backend == .postgres { try await other.close() }

        // Reopening the database (a restart) at the same time fires nothing again.
        let reopened = try await fixture.handle.reopen()
        await fixture.scheduler(on: reopened).tick()
        #expect(try await fixture.runs(deployment.deployment.id, store: reopened).count == 1)

        // The next minute fires once more.
        fixture.clock.set(try date("2026-11-30T10:02:59Z"))
        await fixture.scheduler(on: reopened).tick()
        runs = try await fixture.runs(deployment.deployment.id, store: reopened)
        #expect(runs.map(\.trigger.scheduledAt) == [try date("2026-11-30T10:02:00Z"), try date("2026-11-30T10:01:00Z")])

        // Down for half an hour: only the latest occurrence fires, the missed ones are not backfilled.
        fixture.clock.set(try date("2026-11-30T10:30:59Z"))
        await fixture.scheduler(on: reopened).tick()
        runs = try await fixture.runs(deployment.deployment.id, store: reopened)
        #expect(runs.count == 3)
        #expect(runs.first?.trigger.scheduledAt == (try date("2026-11-30T10:30:00Z")))
        let stored = try #require(try await reopened.deployment(id: deployment.deployment.id))
        #expect(stored.schedule?.lastRunAt == runs.first?.createdAt)
        #expect(stored.nextFireAt == (try date("2026-11-30T10:31:00Z")))
        try await reopened.close()
    }

    @Test(arguments: StoreBackend.allCases) func pauseStopsFiringAndUnpauseDoesNotBackfill(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend, at: try date("2026-11-30T10:00:30Z"))
        let id = try await fixture.create().deployment.id
        let paused = try await fixture.service.pauseDeployment(id: id)
        #expect(paused.deployment.status == .paused && paused.deployment.pausedReason == .manual)
        #expect(!paused.upcomingRuns.isEmpty)
        fixture.clock.set(try date("2026-11-30T10:05:59Z"))
        await fixture.scheduler().tick()
        #expect(try await fixture.runs(id).isEmpty)

        // A manual run works while paused.
        let manual = try await fixture.service.runDeployment(id: id)
        #expect(manual.trigger == .manual && manual.sessionID != nil && manual.error == nil)

        _ = try await fixture.service.unpauseDeployment(id: id)
        await fixture.scheduler().tick()
        #expect(try await fixture.runs(id).count == 1)
        fixture.clock.set(try date("2026-11-30T10:06:59Z"))
        await fixture.scheduler().tick()
        let runs = try await fixture.runs(id)
        #expect(runs.map(\.trigger.type) == ["schedule", "manual"])
        #expect(runs.first?.trigger.scheduledAt == (try date("2026-11-30T10:06:00Z")))
        try await fixture.handle.store.close()
    }

    @Test(arguments: StoreBackend.allCases) func aRunThatCannotWorkIsRecordedAndPausesTheDeployment(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend, at: try date("2026-11-30T10:00:30Z"))
        let id = try await fixture.create().deployment.id
        _ = try await fixture.platform.environments.archiveEnvironment(id: fixture.environmentID)
        fixture.clock.set(try date("2026-11-30T10:01:59Z"))
        await fixture.scheduler().tick()
        let runs = try await fixture.runs(id)
        #expect(runs.count == 1)
        #expect(runs.first?.sessionID == nil)
        #expect(runs.first?.error?.type == "environment_archived_error")
        let deployment = try await fixture.service.deployment(id: id).deployment
        #expect(deployment.status == .paused)
        #expect(deployment.pausedReason == .error("environment_archived_error"))
        fixture.clock.set(try date("2026-11-30T10:02:59Z"))
        await fixture.scheduler().tick()
        #expect(try await fixture.runs(id).count == 1)
        let failed = try await fixture.handle.store.listDeploymentRuns(DeploymentRunFilter(hasError: true), page: PageRequest())
        #expect(failed.items.map(\.id) == runs.map(\.id))
        try await fixture.handle.store.close()
    }

    /// A failed occurrence (no session) is recorded once: a second record of the same
    /// deployment and scheduled instant is skipped, not an error; a manual run always goes in.
    @Test(arguments: StoreBackend.allCases) func anOccurrenceIsRecordedOnlyOnce(_ backend: StoreBackend) async throws {
        let fixture = try await Fixture(backend, at: try date("2026-11-30T10:00:30Z"))
        let deployment = try await fixture.create().deployment
        func failedRun(_ trigger: DeploymentTrigger) -> DeploymentRun {
            var run = DeploymentRun(
                id: ResourceID.make("drun"), deploymentID: deployment.id, agent: deployment.agent, createdAt: Date(), trigger: trigger)
            run.error = DeploymentRunError(type: "unknown_error", message: "test")
            return run
        }
        let occurrence = try date("2026-11-30T10:01:00Z")
        #expect(try await fixture.handle.store.recordDeploymentRun(failedRun(.schedule(scheduledAt: occurrence))))
        #expect(try await !fixture.handle.store.recordDeploymentRun(failedRun(.schedule(scheduledAt: occurrence))))
        #expect(try await fixture.handle.store.recordDeploymentRun(failedRun(.schedule(scheduledAt: occurrence.addingTimeInterval(60)))))
        #expect(try await fixture.handle.store.recordDeploymentRun(failedRun(.manual)))
        #expect(try await fixture.handle.store.recordDeploymentRun(failedRun(.manual)))
        #expect(try await fixture.runs(deployment.id).count == 4)
        try await fixture.handle.store.close()
    }
}
