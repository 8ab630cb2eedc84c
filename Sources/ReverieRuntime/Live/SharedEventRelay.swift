import Logging
import ReverieCore
import ReverieStore
import ServiceLifecycle

/// Brings events other processes append into this process: publishes them to its live
/// subscribers (so a client streaming through this process sees them), and hands them to the
/// session driver (so a message or an interrupt reaches the loop, wherever it runs).
public struct SharedEventRelay: Service {
    let shared: any SharedStore
    let log: SessionLog
    let driver: (any SessionDriver)?
    let logger: Logger

    public init(shared: any SharedStore, log: SessionLog, driver: (any SessionDriver)?, logger: Logger = Logger(label: "reverie.relay")) {
        self.shared = shared
        self.log = log
        self.driver = driver
        self.logger = logger
    }

    /// Event types a driver acts on.
    private static let driverTypes: Set<EventType> = [
        .userMessage, .userDefineOutcome, .userToolConfirmation, .userCustomToolResult, .userToolResult, .userInterrupt,
    ]

    public func run() async throws {
        let announcements = shared.eventAnnouncements()
        let listener = Task {
            for await announcement in announcements {
                guard announcement.origin != shared.processID else { continue }
                await relay(announcement)
            }
        }
        try? await gracefulShutdown()
        listener.cancel()
    }

    private func relay(_ announcement: EventAnnouncement) async {
        let sessionID = announcement.sessionID
        let listening = log.hub.subscriberCount(sessionID: sessionID) > 0
        let count = Int(announcement.lastSequence - announcement.firstSequence + 1)
        do {
            let events = try await log.events(sessionID: sessionID, after: announcement.firstSequence - 1, limit: max(1, count))
            if listening { log.hub.publish(events) }
            if let driver, events.contains(where: { Self.driverTypes.contains($0.type) }), let header = try await log.header(id: sessionID) {
                await driver.eventsAppended(events, session: header)
            }
        } catch {
            logger.warning("could not relay events", metadata: ["session": "\(sessionID)", "error": "\(String(reflecting: error))"])
        }
    }
}

/// Keeps this process's leases alive: heartbeats every third of the lease TTL. On a graceful
/// shutdown the store gives up the process's leases when it closes.
public struct LeaseHeartbeat: Service {
    let shared: any SharedStore
    let logger: Logger

    public init(shared: any SharedStore, logger: Logger = Logger(label: "reverie.leases")) {
        self.shared = shared
        self.logger = logger
    }

    /// Sleeps `duration`, or less when graceful shutdown begins.
    private func gracefulShutdownAware(sleep duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }

    public func run() async throws {
        let interval = shared.leaseTTL / 3
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await shared.heartbeat()
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await gracefulShutdownAware(sleep: interval)
        }
    }
}
