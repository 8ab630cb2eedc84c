import Foundation
import Testing
@testable import ReverieCore
@testable import ReverieStore

/// The webhook tables of every store (one suite, run against SQLite and PostgreSQL).
@Suite(.timeLimit(.minutes(3))) struct WebhookStoreTests {
    @discardableResult
    func makeEndpoint(_ store: any Store, events: [String], state: WebhookEndpoint.State = .enabled, at date: Date = Timestamp.now())
        async throws -> WebhookEndpoint
    {
        var endpoint = WebhookEndpoint(
            id: ResourceID.make(ResourceID.webhookEndpoint, at: date), url: "http://127.0.0.1:9/hook", enabledEvents: events, createdAt: date,
            updatedAt: date)
        endpoint.state = state
        try await store.createWebhookEndpoint(endpoint, sealedSecret: "v1.sealed", limit: WebhookEndpoint.maxEndpoints)
        return endpoint
    }

    func makeSession(_ store: any Store) async throws -> String {
        let now = Timestamp.now()
        let agent = Agent(id: ResourceID.make("agent"), name: "a", model: ModelConfig(id: "m"), createdAt: now, updatedAt: now)
        try await store.createAgent(agent)
        let session = Session(
            id: ResourceID.make("sesn"), agent: SessionAgent(agent), environmentID: "env_x", title: nil, metadata: [:], resources: [],
            createdAt: now, updatedAt: now)
        _ = try await store.createSession(session, initialEvents: [])
        return session.id
    }

    func attempt(_ dispatch: WebhookDispatch, succeeded: Bool, status: Int? = nil) -> WebhookAttempt {
        WebhookAttempt(
            deliveryID: dispatch.delivery.id, endpointID: dispatch.delivery.endpointID, eventID: dispatch.delivery.event.id,
            number: dispatch.delivery.attempts + 1, startedAt: Timestamp.now(), statusCode: status ?? (succeeded ? 200 : 500),
            latencyMilliseconds: 3, error: succeeded ? "" : "HTTP 500", succeeded: succeeded)
    }

    @Test(arguments: StoreBackend.allCases) func fanOutGoesToEnabledSubscribersThatExistedAtTheEvent(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let early = Timestamp.now()
        try await store.appendOutboxEvents([OutboxEvent(type: "session.idled", resourceID: "sesn_old", createdAt: early.addingTimeInterval(-60))])
        let sessions = try await makeEndpoint(store, events: ["session.idled", "session.created"], at: early)
        let dreams = try await makeEndpoint(store, events: ["dream.completed"], at: early)
        let disabled = try await makeEndpoint(store, events: ["session.created"], state: .disabled, at: early)
        let sessionID = try await makeSession(store)
        try await store.appendOutboxEvents([OutboxEvent(type: "dream.completed", resourceID: "drm_1")])

        let moved = try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now())
        #expect(moved >= 4)  // the old event, agent.created, session.created, dream.completed
        #expect(try await store.pendingOutboxEvents(limit: 100).isEmpty)
        let toSessions = try await store.listWebhookDeliveries(endpointID: sessions.id, state: nil, page: IDPageRequest(order: .ascending)).items
        #expect(toSessions.map(\.event.type) == ["session.created"])
        #expect(toSessions.first?.event.resourceID == sessionID)
        #expect(toSessions.first?.state == .pending)
        let toDreams = try await store.listWebhookDeliveries(endpointID: dreams.id, state: nil, page: IDPageRequest()).items
        #expect(toDreams.map(\.event.type) == ["dream.completed"])
        #expect(try await store.listWebhookDeliveries(endpointID: disabled.id, state: nil, page: IDPageRequest()).items.isEmpty)
        // Fanning out again moves nothing and duplicates nothing.
        #expect(try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now()) == 0)
        #expect(try await store.listWebhookDeliveries(endpointID: sessions.id, state: nil, page: IDPageRequest()).items.count == 1)
    }

    /// The outbox row is written with the change, so closing the store before delivering
    /// loses nothing: the reopened store still has the event, and it is delivered. (A real
    /// kill -9 is covered end to end by the conformance suite's test_durability.py.)
    @Test(arguments: StoreBackend.allCases) func aSessionQueuedForAWorkerIsAnnouncedPendingOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let sessionID = try await makeSession(store)
        let make: @Sendable () -> WorkItem = {
            WorkItem(id: ResourceID.make(ResourceID.work), environmentID: "env_x", sessionID: sessionID, createdAt: Timestamp.now(), leaseTTLSeconds: 60)
        }
        #expect(try await store.ensureWorkItem(sessionID: sessionID, environmentID: "env_x", make: make).created)
        #expect(try await !store.ensureWorkItem(sessionID: sessionID, environmentID: "env_x", make: make).created)
        let pending = try await store.pendingOutboxEvents(limit: 100).filter { $0.type == "session.pending" }
        #expect(pending.map(\.resourceID) == [sessionID], "one notice while the session waits for its worker")
        try await store.close()
    }

    @Test(arguments: StoreBackend.allCases) func outboxAndClaimedDeliveriesSurviveClosingAndReopeningTheStore(_ backend: StoreBackend) async throws {
        let handle = try await backend.open()
        var store = handle.store
        let endpoint = try await makeEndpoint(store, events: ["session.archived", "session.created"], at: Timestamp.now().addingTimeInterval(-1))
        let sessionID = try await makeSession(store)
        _ = try await store.updateSession(id: sessionID) { current in
            var next = current
            next.archivedAt = Timestamp.now()
            return next
        }
        // Close the store without dispatching anything, open the file again.
        store = try await StoreHandle(store: store, reopenStore: handle.reopenStore).reopen()
        #expect(try await store.pendingOutboxEvents(limit: 10).map(\.type).filter { $0.hasPrefix("session.") } == ["session.created", "session.archived"])
        _ = try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now())

        // A delivery claimed by a process that then dies comes back when its lease ends.
        let now = Timestamp.now()
        let claimed = try await store.claimDueWebhookDeliveries(now: now, leaseUntil: now.addingTimeInterval(30), limit: 10, perEndpoint: 10, busy: [:], disableAfter: 20)
        #expect(claimed.map(\.delivery.event.type).sorted() == ["session.archived", "session.created"])
        #expect(claimed.allSatisfy { $0.url == endpoint.url && $0.sealedSecret == "v1.sealed" })
        store = try await StoreHandle(store: store, reopenStore: handle.reopenStore).reopen()
        #expect(try await store.claimDueWebhookDeliveries(now: now.addingTimeInterval(1), leaseUntil: now.addingTimeInterval(60), limit: 10, perEndpoint: 10, busy: [:], disableAfter: 20).isEmpty)
        let again = try await store.claimDueWebhookDeliveries(
            now: now.addingTimeInterval(31), leaseUntil: now.addingTimeInterval(90), limit: 10, perEndpoint: 10, busy: [:], disableAfter: 20)
        #expect(Set(again.map(\.delivery.id)) == Set(claimed.map(\.delivery.id)))
        #expect(Set(again.map(\.delivery.event.id)) == Set(claimed.map(\.delivery.event.id)))
    }

    @Test(arguments: StoreBackend.allCases) func claimsRespectTheLimitsAndSkipDisabledEndpoints(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let start = Timestamp.now().addingTimeInterval(-1)
        let busy = try await makeEndpoint(store, events: ["dream.completed"], at: start)
        let quiet = try await makeEndpoint(store, events: ["dream.completed"], at: start)
        try await store.appendOutboxEvents((0..<5).map { OutboxEvent(type: "dream.completed", resourceID: "drm_\($0)") })
        _ = try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now())
        let now = Timestamp.now()
        let claimed = try await store.claimDueWebhookDeliveries(
            now: now, leaseUntil: now.addingTimeInterval(60), limit: 10, perEndpoint: 2, busy: [busy.id: 1], disableAfter: 20)
        #expect(claimed.filter { $0.delivery.endpointID == busy.id }.count == 1)
        #expect(claimed.filter { $0.delivery.endpointID == quiet.id }.count == 2)
        _ = try await store.updateWebhookEndpoint(id: quiet.id) { current in
            var next = current
            next.state = .disabled
            return next
        }
        let rest = try await store.claimDueWebhookDeliveries(now: now, leaseUntil: now.addingTimeInterval(60), limit: 10, perEndpoint: 10, busy: [:], disableAfter: 20)
        #expect(rest.allSatisfy { $0.delivery.endpointID == busy.id })
        #expect(rest.count == 4)
        // Disabling abandoned the quiet endpoint's queue; it can be re-sent by hand once enabled.
        let abandoned = try await store.listWebhookDeliveries(endpointID: quiet.id, state: .failed, page: IDPageRequest()).items
        #expect(abandoned.count == 5)
        #expect(abandoned.allSatisfy { $0.lastError == "the endpoint was disabled" })
        await #expect(throws: APIError.self) { try await store.requeueWebhookDelivery(id: abandoned[0].id, now: now) }
        _ = try await store.updateWebhookEndpoint(id: quiet.id) { current in
            var next = current
            next.state = .enabled
            return next
        }
        let requeued = try await store.requeueWebhookDelivery(id: abandoned[0].id, now: now)
        #expect(requeued.state == .pending && requeued.roundAttempts == 0)
        await #expect(throws: APIError.self) { try await store.requeueWebhookDelivery(id: abandoned[0].id, now: now) }
    }

    /// One endpoint's backlog does not hold back another endpoint's deliveries.
    @Test(arguments: StoreBackend.allCases) func aBackloggedEndpointDoesNotStarveOthers(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let start = Timestamp.now().addingTimeInterval(-1)
        let backlogged = try await makeEndpoint(store, events: ["dream.completed"], at: start)
        let other = try await makeEndpoint(store, events: ["dream.failed"], at: start)
        try await store.appendOutboxEvents((0..<200).map { OutboxEvent(type: "dream.completed", resourceID: "drm_\($0)") })
        _ = try await store.fanOutOutboxEvents(limit: 1000, now: Timestamp.now())
        try await store.appendOutboxEvents([OutboxEvent(type: "dream.failed", resourceID: "drm_late")])
        _ = try await store.fanOutOutboxEvents(limit: 1000, now: Timestamp.now().addingTimeInterval(1))
        let now = Timestamp.now().addingTimeInterval(2)
        let claimed = try await store.claimDueWebhookDeliveries(
            now: now, leaseUntil: now.addingTimeInterval(60), limit: 4, perEndpoint: 8, busy: [backlogged.id: 8], disableAfter: 20)
        #expect(claimed.map(\.delivery.endpointID) == [other.id])
        // With room everywhere, the earliest due go first.
        let next = try await store.claimDueWebhookDeliveries(
            now: now, leaseUntil: now.addingTimeInterval(60), limit: 4, perEndpoint: 8, busy: [:], disableAfter: 20)
        #expect(next.count == 4 && next.allSatisfy { $0.delivery.endpointID == backlogged.id })
    }

    /// Attempts in flight never exceed what is left of the endpoint's failure budget.
    @Test(arguments: StoreBackend.allCases) func claimsStayWithinTheFailureBudget(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let endpoint = try await makeEndpoint(store, events: ["dream.failed"], at: Timestamp.now().addingTimeInterval(-1))
        try await store.appendOutboxEvents((0..<6).map { OutboxEvent(type: "dream.failed", resourceID: "drm_\($0)") })
        _ = try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now())
        let now = Timestamp.now()
        let claimed = try await store.claimDueWebhookDeliveries(
            now: now, leaseUntil: now.addingTimeInterval(60), limit: 10, perEndpoint: 10, busy: [:], disableAfter: 3)
        #expect(claimed.count == 3)
        // One of them fails: two attempts are still in flight, and the budget has one left.
        _ = try await store.recordWebhookAttempt(attempt(claimed[0], succeeded: false), retryAt: nil, disableAfter: 3, disabledReason: "r")
        let later = now.addingTimeInterval(120)
        let none = try await store.claimDueWebhookDeliveries(
            now: later, leaseUntil: later.addingTimeInterval(60), limit: 10, perEndpoint: 10, busy: [endpoint.id: 2], disableAfter: 3)
        #expect(none.isEmpty)
        let one = try await store.claimDueWebhookDeliveries(
            now: later, leaseUntil: later.addingTimeInterval(60), limit: 10, perEndpoint: 10, busy: [endpoint.id: 1], disableAfter: 3)
        #expect(one.count == 1)
    }

    @Test(arguments: StoreBackend.allCases) func attemptsScheduleRetriesAndDisableAfterConsecutiveFailures(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let endpoint = try await makeEndpoint(store, events: ["dream.failed"], at: Timestamp.now().addingTimeInterval(-1))
        try await store.appendOutboxEvents((0..<3).map { OutboxEvent(type: "dream.failed", resourceID: "drm_\($0)") })
        _ = try await store.fanOutOutboxEvents(limit: 100, now: Timestamp.now())
        func claimOne() async throws -> WebhookDispatch? {
            let now = Timestamp.now().addingTimeInterval(3600)
            return try await store.claimDueWebhookDeliveries(now: now, leaseUntil: now, limit: 1, perEndpoint: 1, busy: [:], disableAfter: 20).first
        }
        // One failure with a retry, then a success: the counter resets.
        var dispatch = try #require(try await claimOne())
        let first = dispatch.delivery.id
        // Due before the others, so the next claim takes this delivery again.
        let soon = Timestamp.now().addingTimeInterval(-1000)
        var outcome = try await store.recordWebhookAttempt(attempt(dispatch, succeeded: false), retryAt: soon, disableAfter: 3, disabledReason: "r")
        #expect(outcome.delivery?.state == .pending)
        #expect(outcome.delivery?.nextAttemptAt == soon)
        #expect(outcome.delivery?.attempts == 1)
        #expect(try await store.webhookConsecutiveFailures(endpointID: endpoint.id) == 1)
        dispatch = try #require(try await claimOne())
        #expect(dispatch.delivery.id == first)
        #expect(dispatch.delivery.attempts == 1 && dispatch.delivery.roundAttempts == 1)
        outcome = try await store.recordWebhookAttempt(attempt(dispatch, succeeded: true), retryAt: nil, disableAfter: 3, disabledReason: "r")
        #expect(outcome.delivery?.state == .succeeded)
        #expect(outcome.delivery?.nextAttemptAt == nil)
        #expect(try await store.webhookConsecutiveFailures(endpointID: endpoint.id) == 0)
        let attempts = try await store.listWebhookAttempts(deliveryID: first, page: IDPageRequest(order: .ascending)).items
        #expect(attempts.map(\.number) == [1, 2])
        #expect(attempts.map(\.succeeded) == [false, true])
        #expect(attempts.map(\.statusCode) == [500, 200])
        #expect(attempts.allSatisfy { $0.eventID == dispatch.delivery.event.id })
        let retryAt = Timestamp.now().addingTimeInterval(60)

        // Out of retries: the delivery fails. Three failures in a row disable the endpoint.
        dispatch = try #require(try await claimOne())
        outcome = try await store.recordWebhookAttempt(attempt(dispatch, succeeded: false), retryAt: nil, disableAfter: 3, disabledReason: "r")
        #expect(outcome.delivery?.state == .failed && !outcome.disabledEndpoint)
        dispatch = try #require(try await claimOne())
        outcome = try await store.recordWebhookAttempt(attempt(dispatch, succeeded: false), retryAt: retryAt, disableAfter: 3, disabledReason: "r")
        #expect(!outcome.disabledEndpoint)
        dispatch = try #require(try await claimOne())
        outcome = try await store.recordWebhookAttempt(
            attempt(dispatch, succeeded: false), retryAt: retryAt, disableAfter: 3, disabledReason: "Disabled automatically: because")
        #expect(outcome.disabledEndpoint)
        #expect(outcome.delivery?.state == .failed)
        let disabled = try #require(try await store.webhookEndpoint(id: endpoint.id))
        #expect(disabled.state == .disabled)
        #expect(disabled.disabledReason == "Disabled automatically: because")
        #expect(try await store.listWebhookDeliveries(endpointID: endpoint.id, state: .pending, page: IDPageRequest()).items.isEmpty)
        #expect(try await claimOne() == nil)
    }

    @Test(arguments: StoreBackend.allCases) func listsPageByIDLikeTheSDKsSyncPage(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let base = Timestamp.now()
        var ids: [String] = []
        for index in 0..<5 {
            ids.append(try await makeEndpoint(store, events: ["session.idled"], at: base.addingTimeInterval(Double(index))).id)
        }
        let newestFirst = Array(ids.reversed())
        let first = try await store.listWebhookEndpoints(page: IDPageRequest(limit: 2))
        #expect(first.items.map(\.id) == Array(newestFirst[0..<2]))
        #expect(first.hasMore)
        let second = try await store.listWebhookEndpoints(page: IDPageRequest(limit: 2, afterID: newestFirst[1]))
        #expect(second.items.map(\.id) == Array(newestFirst[2..<4]))
        let last = try await store.listWebhookEndpoints(page: IDPageRequest(limit: 2, afterID: newestFirst[3]))
        #expect(last.items.map(\.id) == [newestFirst[4]])
        #expect(!last.hasMore)
        // before_id: the first `limit` items that come before it in list order.
        let before = try await store.listWebhookEndpoints(page: IDPageRequest(limit: 2, beforeID: newestFirst[3]))
        #expect(before.items.map(\.id) == Array(newestFirst[0..<2]))
        #expect(before.hasMore)
        let ascending = try await store.listWebhookEndpoints(page: IDPageRequest(limit: 10, order: .ascending))
        #expect(ascending.items.map(\.id) == ids)
        await #expect(throws: APIError.self) { try await store.listWebhookEndpoints(page: IDPageRequest(afterID: "whep_nope")) }
    }

    @Test(arguments: StoreBackend.allCases) func endpointLimitAndDeletionCascade(_ backend: StoreBackend) async throws {
        let store = try await backend.open().store
        let endpoint = try await makeEndpoint(store, events: ["dream.created"], at: Timestamp.now().addingTimeInterval(-1))
        try await store.appendOutboxEvents([OutboxEvent(type: "dream.created", resourceID: "drm_1")])
        _ = try await store.fanOutOutboxEvents(limit: 10, now: Timestamp.now())
        let delivery = try #require(try await store.listWebhookDeliveries(endpointID: endpoint.id, state: nil, page: IDPageRequest()).items.first)
        try await store.deleteWebhookEndpoint(id: endpoint.id)
        #expect(try await store.webhookDelivery(id: delivery.id) == nil)
        await #expect(throws: APIError.self) { try await store.deleteWebhookEndpoint(id: endpoint.id) }
        for _ in 0..<WebhookEndpoint.maxEndpoints { try await makeEndpoint(store, events: ["dream.created"]) }
        await #expect(throws: APIError.self) { try await makeEndpoint(store, events: ["dream.created"]) }
    }
}
