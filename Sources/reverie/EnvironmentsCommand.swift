import ArgumentParser
import Foundation
import ReverieCore

/// `reverie environments`: environment administration over the API.
struct EnvironmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "environments", abstract: "Manage environments over the API.", subcommands: [KeysCommand.self])

    /// `reverie environments keys`: the keys a self-hosted environment's workers hold.
    struct KeysCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys",
            abstract: "Create, list and revoke environment keys (the credential of a self_hosted environment's workers).",
            subcommands: [Create.self, List.self, Revoke.self])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once and stored only as a hash.")
        @OptionGroup var server: ServerOptions
        @Option(help: "The environment (env_…).")
        var environment: String
        @Option(help: "A name to recognise the key by.")
        var name = "worker"

        func run() async throws {
            let reply = try await APIClient(options: server).send(.POST, "/v1/environments/\(environment)/keys", json: ["name": .string(name)])
            guard let secret = reply["key"]?.stringValue, let id = reply["id"]?.stringValue else { throw CommandFailure("unexpected reply") }
            print(secret)
            FileHandle.standardError.write(Data("created environment key \(id) (\(name)); the secret above is not shown again\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an environment's keys (ids and names, never secrets).")
        @OptionGroup var server: ServerOptions
        @Option(help: "The environment (env_…).")
        var environment: String

        func run() async throws {
            let reply = try await APIClient(options: server).send(.GET, "/v1/environments/\(environment)/keys")
            for key in reply["data"]?.arrayValue ?? [] {
                let state = key["revoked_at"]?.stringValue.map { "revoked \($0)" } ?? "active"
                print([key["id"]?.stringValue ?? "", key["name"]?.stringValue ?? "", key["created_at"]?.stringValue ?? "", state].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an environment key by id.")
        @OptionGroup var server: ServerOptions
        @Option(help: "The environment (env_…).")
        var environment: String
        @Argument(help: "The key id (envkey_…).")
        var id: String

        func run() async throws {
            _ = try await APIClient(options: server).send(.DELETE, "/v1/environments/\(environment)/keys/\(id)")
            print("revoked \(id)")
        }
    }
}
