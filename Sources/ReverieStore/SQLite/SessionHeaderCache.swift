import ReverieCore
import Synchronization

/// The last committed header of recently written sessions, so an append neither reads nor
/// decodes the session's derived state again.
///
/// Only the writer fills it, from `afterNextTransaction` commit hooks that run on the writer
/// queue before the next write begins, so an entry is never older than the database. Any
/// other write to a session's row drops the entry; a miss simply reads the row.
final class SessionHeaderCache: Sendable {
    private let entries = Mutex<[String: SessionHeader]>([:])
    private let limit: Int

    /// - Parameter limit: entries kept before the cache starts over (bounds memory on servers
    ///   with many sessions; a miss only costs one read).
    init(limit: Int = 10_000) {
        self.limit = limit
    }

    func header(id: String) -> SessionHeader? {
        entries.withLock { $0[id] }
    }

    func store(_ headers: some Sequence<SessionHeader>) {
        entries.withLock { entries in
            for header in headers {
                if entries.count >= limit, entries[header.id] == nil { entries.removeAll(keepingCapacity: true) }
                entries[header.id] = header
            }
        }
    }

    func remove(_ ids: some Sequence<String>) {
        entries.withLock { entries in
            for id in ids { entries[id] = nil }
        }
    }

    func remove(id: String) {
        remove(CollectionOfOne(id))
    }
}
