import ArgumentParser
import Foundation
import ReverieCore
import ReverieStore
import ReverieStorePostgres

/// `reverie keys`: manage stored API keys.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Options: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Directory holding the database.")
        var dataDirectory = ProcessInfo.processInfo.environment["REVERIE_DATA_DIR"] ?? ".reverie"

        @Option(name: .customLong("database"), help: "A postgres:// URL (default: REVERIE_DATABASE_URL, else SQLite in the data directory).")
        var databaseURL = ProcessInfo.processInfo.environment["REVERIE_DATABASE_URL"] ?? ""

        func openStore() async throws -> any Store {
            if !databaseURL.isEmpty { return try await PostgresStore(url: databaseURL) }
            return try SQLiteStore(path: (dataDirectory as NSString).appendingPathComponent("reverie.sqlite"))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once and stored only as a hash.")
        @OptionGroup var options: Options
        @Option(help: "A name to recognise the key by.")
        var name = "default"

        func run() async throws {
            let store = try await options.openStore()
            let (record, secret) = APIKeyRecord.generate(name: name)
            try await store.createAPIKey(record)
            try await store.close()
            print(secret)
            FileHandle.standardError.write(Data("created key \(record.id) (\(name)); the secret above is not shown again\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (ids and names, never secrets).")
        @OptionGroup var options: Options

        func run() async throws {
            let store = try await options.openStore()
            for key in try await store.listAPIKeys() {
                let state = key.revokedAt.map { "revoked \(Timestamp.format($0))" } ?? "active"
                print("\(key.id)\t\(key.name)\t\(Timestamp.format(key.createdAt))\t\(state)")
            }
            try await store.close()
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @OptionGroup var options: Options
        @Argument(help: "The key id (apikey_…).")
        var id: String

        func run() async throws {
            let store = try await options.openStore()
            let revoked: Bool
            do {
                revoked = try await store.revokeAPIKey(id: id)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
            guard revoked else { throw CommandFailure("no active key '\(id)'") }
            print("revoked \(id)")
        }
    }
}
