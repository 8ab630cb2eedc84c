import Foundation
import Logging
import ReverieCore
import ReverieStore
import Synchronization

/// The operations of the Managed Agents API, independent of HTTP: the server's routes and
/// the command line both call these. Each validates its input, applies the domain rules,
/// persists through the `Store`, and announces appended events on the `EventHub`.
public struct Platform: Sendable {
    public let store: any Store
    public let hub: EventHub
    public let logger: Logger
    private let driverBox: DriverBox
    private let dreamBox = DreamSchedulerBox()
    /// Webhook settings, attached by the host at start-up (see `Platform+Webhooks.swift`).
    let webhookBox = WebhookContextBox()

    public init(store: any Store, hub: EventHub = EventHub(), driver: any SessionDriver = IdleSessionDriver(), logger: Logger = Logger(label: "reverie")) {
        self.store = store
        self.hub = hub
        self.logger = logger
        self.driverBox = DriverBox(driver)
    }

    /// The runtime sessions are handed to.
    public var driver: any SessionDriver { driverBox.driver }

    /// Attaches a runtime (done once at start-up, after the runtime is built around this platform).
    public func attach(_ driver: any SessionDriver) {
        driverBox.driver = driver
    }

    /// What runs dreams.
    public var dreamScheduler: any DreamScheduler { dreamBox.scheduler }

    /// Attaches the dream runner (done once at start-up).
    public func attach(dreams scheduler: any DreamScheduler) {
        dreamBox.scheduler = scheduler
    }

    /// Appends events to a session's log and publishes them live. Every writer of a log
    /// (API, runtime, grader) goes through here.
    @discardableResult
    public func append(_ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void = { _ in })
        async throws -> (SessionHeader, [StoredEvent])
    {
        let (header, stored) = try await store.appendEvents(events, to: sessionID, check: check)
        hub.publish(stored)
        return (header, stored)
    }
}

/// Holds the attached driver; set once during start-up, read on every request.
final class DriverBox: Sendable {
    private let value: Mutex<any SessionDriver>
    init(_ driver: any SessionDriver) { value = Mutex(driver) }
    var driver: any SessionDriver {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
