import Logging
import ReverieCore
import ReverieStore
import ServiceLifecycle

/// Brings events other processes append into this process: publishes them to its live
/// subscribers (so a client streaming through this process sees them), and hands those a
/// runtime acts on (messages, answers, interrupts) to `onClientEvents`, so they reach the
/// session's loop wherever it runs.
public struct SharedEventRelay: Service {
    public typealias ClientEventsHandler = @Sendable ([StoredEvent], SessionHeader) async -> Void

    let shared: any SharedStore
    let log: SessionLog
    let onClientEvents: ClientEventsHandler?
    let logger: Logger

    public init(shared: any SharedStore, log: SessionLog, onClientEvents: ClientEventsHandler?, logger: Logger = Logger(label: "reverie.relay")) {
        self.shared = shared
        self.log = log
        self.onClientEvents = onClientEvents
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
            if let onClientEvents, events.contains(where: { Self.driverTypes.contains($0.type) }), let header = try await log.header(id: sessionID) {
                await onClientEvents(events, header)
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
