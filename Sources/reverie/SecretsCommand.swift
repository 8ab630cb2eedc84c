import ArgumentParser
import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `reverie secrets`: the keyring that seals server secrets at rest.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets", abstract: "Manage the keyring that seals webhook secrets and vault credentials at rest.",
        subcommands: [RotateKey.self, Status.self])

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Add a new key, re-seal every stored secret with it, then retire the old keys. Stop every server sharing the database first.")
        @OptionGroup var options: Keys.Options
        @Flag(help: "Keep the old keys in the keyring after re-sealing (default: retire them).")
        var keepOldKeys = false

        func run() async throws {
            let directory = options.dataDirectory
            let current = try SecretKeyringFile.load(directory: directory)
            let added = SecretKeyring.Key.generate()
            // 1. The new key joins the ring first, so a crash at any later step loses nothing.
            let ring = try current.adding(added)
            try SecretKeyringFile.save(ring, directory: directory)
            // 2. Every stored secret is re-sealed with it, in one transaction.
            let sealer = SecretSealer(keyring: ring)
            let store = try await options.openStore()
            let changed: Int
            do {
                changed = try await store.resealSecrets { id, sealed in try sealer.reseal(sealed, context: id) }
            } catch {
                try? await store.close()
                throw CommandFailure("re-sealing failed, nothing changed in the database (the keyring keeps every key): \(error)")
            }
            try await store.close()
            // 3. The old keys are retired.
            if !keepOldKeys {
                try SecretKeyringFile.save(ring.currentOnly, directory: directory)
                SecretKeyringFile.removeLegacyFile(directory: directory, keeping: ring.currentOnly)
            }
            print("new key \(added.id); re-sealed \(changed) stored secret(s)" + (keepOldKeys ? "; old keys kept" : "; old keys retired"))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keyring's key ids (never the keys).")
        @OptionGroup var options: Keys.Options

        func run() async throws {
            let ring = try SecretKeyringFile.load(directory: options.dataDirectory)
            for key in ring.keys { print(key.id + (key.id == ring.current.id ? "\tcurrent" : "")) }
        }
    }
}
