import Foundation
import Synchronization
import Testing
@testable import ReverieCore
@testable import ReverieStore
@testable import ReverieStorePostgres

/// The databases store-level suites run against: the same tests, once per store
/// (`@Test(arguments: StoreBackend.allCases)`).
///
/// PostgreSQL runs on the server `REVERIE_TEST_POSTGRES_URL` names (`scripts/pg-cluster`
/// starts one; `scripts/test` always does), each test in a schema of its own. Without it the
/// PostgreSQL case is cancelled (reported as skipped), unless `REVERIE_REQUIRE_POSTGRES` is
/// set, as in CI, where it fails.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The PostgreSQL server tests use, if any.
    static var postgresURL: String? {
        let value = ProcessInfo.processInfo.environment["REVERIE_TEST_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }

    /// A URL naming a fresh schema on the test server (skips or fails the test without one).
    static func freshPostgresURL() throws -> String {
        guard let base = postgresURL else {
            if ProcessInfo.processInfo.environment["REVERIE_REQUIRE_POSTGRES"] != nil {
                throw TestFailure("REVERIE_TEST_POSTGRES_URL is not set but REVERIE_REQUIRE_POSTGRES is: start scripts/pg-cluster")
            }
            try Test.cancel("REVERIE_TEST_POSTGRES_URL is not set: the PostgreSQL case is skipped (scripts/pg-cluster starts a server)")
        }
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return base + (base.contains("?") ? "&" : "?") + "schema=" + schema
    }

    /// Opens a new, empty store.
    func open() async throws -> StoreHandle {
        switch self {
        case .sqlite:
            let path = TemporaryDirectory.make() + "/reverie.sqlite"
            let store = try SQLiteStore(path: path)
            return StoreHandle(store: store, reopenStore: { try SQLiteStore(path: path) })
        case .postgres:
            let url = try Self.freshPostgresURL()
            let store = try await PostgresStore(url: url, maximumConnections: 8)
            return StoreHandle(store: store, reopenStore: { try await PostgresStore(url: url, maximumConnections: 8) })
        }
    }
}

/// A store under test, and a way to open its database again.
struct StoreHandle: Sendable {
    let store: any Store
    let reopenStore: @Sendable () async throws -> any Store

    /// Closes the store and opens the same database again.
    func reopen() async throws -> any Store {
        try await store.close()
        return try await reopenStore()
    }

    /// What group commit did so far.
    var groupCommitCounts: GroupCommitCounts {
        switch store {
        case let sqlite as SQLiteStore: sqlite.groupCommitCounts
        case let postgres as PostgresStore: postgres.groupCommitCounts
        default: GroupCommitCounts()
        }
    }

    /// Runs `body` while a transaction keeps appends to `sessionIDs` from committing, until
    /// `release()` says so: SQLite's writer is held; on PostgreSQL the sessions' rows are locked.
    func holdingWriter(sessionIDs: [String], until release: @escaping @Sendable () -> Bool, entered: @escaping @Sendable () -> Void)
        async throws
    {
        switch store {
        case let sqlite as SQLiteStore:
            try await sqlite.write { _ in
                entered()
                while !release() { usleep(1_000) }
            }
        case let postgres as PostgresStore:
            try await postgres.write { db in
                try await db.execute("SELECT 1 FROM sessions WHERE id = ANY(?) FOR UPDATE", [sessionIDs])
                entered()
                while !release() { try await Task.sleep(for: .milliseconds(1)) }
            }
        default:
            throw TestFailure("no writer to hold in \(type(of: store))")
        }
    }
}
