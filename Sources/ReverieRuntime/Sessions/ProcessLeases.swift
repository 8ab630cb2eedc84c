import Logging
import ReverieStore

/// This process's leases on a shared database, or, on a store only this process uses,
/// ownership of everything.
public struct ProcessLeases: Sendable {
    let shared: (any SharedStore)?
    let logger: Logger

    public init(shared: (any SharedStore)?, logger: Logger = Logger(label: "reverie.leases")) {
        self.shared = shared
        self.logger = logger
    }

    /// Whether other processes share the database.
    public var isShared: Bool { shared != nil }

    /// Takes the leases of `keys` this process can take; returns those it holds. A lease that
    /// could not be asked for (the database is unreachable) is not held.
    public func acquire(_ keys: [String]) async -> Set<String> {
        guard let shared else { return Set(keys) }
        do {
            return try await shared.acquireLeases(keys)
        } catch {
            logger.warning("could not take leases", metadata: ["keys": "\(keys)", "error": "\(String(reflecting: error))"])
            return []
        }
    }

    /// Takes one lease; true when this process holds it.
    public func acquire(_ key: String) async -> Bool {
        await acquire([key]).contains(key)
    }

    /// Gives up a lease.
    public func release(_ key: String) async {
        guard let shared else { return }
        do {
            try await shared.releaseLeases([key])
        } catch {
            logger.warning("could not release a lease", metadata: ["key": "\(key)", "error": "\(String(reflecting: error))"])
        }
    }
}
