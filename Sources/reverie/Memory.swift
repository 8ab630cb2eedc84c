import ArgumentParser
import Foundation
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `reverie memory`: look at and move memory stores, straight on the database.
struct Memory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, inspect, export and import memory stores.",
        discussion: """
            Works directly on the database in --data-dir (like `reverie keys`), through the same \
            operations as the API. Changes made here are recorded in each memory's history as made \
            by a user_actor (user_<login>). A STORE is a memstore_… id or a store's exact name.
            """,
        subcommands: [Stores.self, Tree.self, Cat.self, History.self, Export.self, Import.self, Pin.self, Unpin.self])

    struct Options: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Directory holding the database.")
        var dataDirectory = ProcessInfo.processInfo.environment["REVERIE_DATA_DIR"] ?? ".reverie"

        private func openDatabase() throws -> MemoryDatabase {
            MemoryDatabase(store: try SQLiteStore(path: (dataDirectory as NSString).appendingPathComponent("reverie.sqlite")))
        }

        /// Opens the data directory's database, runs `body`, and closes it (also when `body` fails).
        func withDatabase<T>(_ body: (MemoryDatabase) async throws -> T) async throws -> T {
            let database = try openDatabase()
            do {
                let result = try await body(database)
                try await database.store.close()
                return result
            } catch {
                try? await database.store.close()
                throw error
            }
        }

        /// The same, with `store` (an id or a name) resolved first.
        func withStore<T>(_ store: String, _ body: (MemoryDatabase, MemoryStore) async throws -> T) async throws -> T {
            try await withDatabase { database in try await body(database, try await MemoryCLI.resolve(store, database)) }
        }
    }

    /// The actor changes made from the command line are attributed to.
    static var cliActor: MemoryActor {
        let login = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "local"
        return .user("user_" + login)
    }

    struct Stores: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List memory stores: id, name, memory count, archive state.")
        @OptionGroup var options: Options
        @Flag(name: .customLong("include-archived"), help: "Include archived stores.")
        var includeArchived = false

        func run() async throws {
            try await options.withDatabase { database in
                for memoryStore in try await MemoryCLI.allStores(database, includeArchived: includeArchived) {
                    let count = try await database.memory.memoryPaths(storeID: memoryStore.id).count
                    let state = memoryStore.archivedAt.map { "archived \(Timestamp.format($0))" } ?? "active"
                    print("\(memoryStore.id)\t\(memoryStore.name)\t\(count) memories\t\(state)")
                }
            }
        }
    }

    struct Tree: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a store's memories as a tree.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Option(help: "Only memories under this folder, e.g. /notes/.") var prefix = "/"

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                let memories = try await database.store.memories(storeID: memoryStore.id, under: prefix, includeContent: false)
                print("\(memoryStore.name) (\(memoryStore.id))\(prefix == "/" ? "" : " " + prefix)")
                for line in MemoryCLI.treeLines(memories, under: prefix) { print(line) }
            }
        }
    }

    struct Cat: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a memory's content exactly as stored.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Argument(help: "The memory's path, e.g. /notes/todo.md.") var path: String

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                guard let file = try await database.memory.readMemory(storeID: memoryStore.id, path: path) else {
                    throw CommandFailure("no memory at '\(path)' in \(memoryStore.id)")
                }
                FileHandle.standardOutput.write(Data(file.content.utf8))
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a memory's versions, oldest first.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Argument(help: "The memory's current path, or its mem_… id (works after deletion too).") var memory: String

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                var memoryID = memory
                if memory.hasPrefix("/") {
                    guard let file = try await database.memory.readMemory(storeID: memoryStore.id, path: memory) else {
                        throw CommandFailure("no memory at '\(memory)' in \(memoryStore.id); pass its mem_… id to see a deleted memory's history")
                    }
                    memoryID = file.memoryID
                }
                var versions: [MemoryVersion] = []
                var page = PageRequest(limit: 100, order: .ascending)
                while true {
                    let result = try await database.store.listMemoryVersions(storeID: memoryStore.id, MemoryVersionFilter(memoryID: memoryID), page: page)
                    versions += result.items
                    guard let next = result.next else { break }
                    page.cursor = next
                }
                if versions.isEmpty { throw CommandFailure("memory '\(memoryID)' has no versions in \(memoryStore.id)") }
                for version in versions {
                    let actor = version.createdBy.map { "\($0.type):\($0.id)" } ?? "-"
                    var line = "\(version.id)\t\(Timestamp.format(version.createdAt))\t\(version.operation.rawValue)\t\(actor)"
                    if let redactedAt = version.redactedAt {
                        line += "\tredacted \(Timestamp.format(redactedAt))"
                        if let by = version.redactedBy { line += " by \(by.type):\(by.id)" }
                    } else {
                        line += "\t\(version.path ?? "-")"
                        if let size = version.contentSizeBytes, let sha = version.contentSHA256 { line += "\t\(size) B\tsha256:\(sha.prefix(12))" }
                    }
                    print(line)
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a store as a folder of files (one per memory, at its path) plus a manifest.",
            discussion: "The folder must be empty or not exist. \(MemoryService.memoryManifestName) keeps the store's name, description, metadata and pinned paths.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Argument(help: "The folder to write.") var folder: String

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                let count = try await database.memory.exportMemoryStore(id: memoryStore.id, to: folder)
                FileHandle.standardError.write(Data("exported \(count) memories from \(memoryStore.id) to \(folder)\n".utf8))
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a folder of files (as written by export) into a new store, or into an existing one.",
            discussion: "Every file becomes the memory at its relative path; files must be UTF-8 text of at most 100 kB.")
        @OptionGroup var options: Options
        @Argument(help: "The folder to read.") var folder: String
        @Option(help: "Import into this existing store (id or name) instead of creating one.") var into: String?
        @Option(help: "Name of the new store (default: the manifest's name, else the folder's name).") var name: String?

        func run() async throws {
            try await options.withDatabase { database in
                let target = try await into.asyncMap { try await MemoryCLI.resolve($0, database) }
                let (memoryStore, count) = try await database.memory.importMemoryStore(from: folder, into: target?.id, name: name, actor: Memory.cliActor)
                print(memoryStore.id)
                FileHandle.standardError.write(Data("imported \(count) memories into \(memoryStore.id) (\(memoryStore.name))\n".utf8))
            }
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pin a memory: dreams will never change or delete it.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Argument(help: "The memory's path.") var path: String

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                try await database.memory.setMemoryPinned(storeID: memoryStore.id, path: path, pinned: true, actor: Memory.cliActor)
                print("pinned \(path)")
            }
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unpin a memory.")
        @OptionGroup var options: Options
        @Argument(help: "The store (id or name).") var store: String
        @Argument(help: "The memory's path.") var path: String

        func run() async throws {
            try await options.withStore(store) { database, memoryStore in
                try await database.memory.setMemoryPinned(storeID: memoryStore.id, path: path, pinned: false, actor: Memory.cliActor)
                print("unpinned \(path)")
            }
        }
    }
}

/// Store lookup and tree rendering for the `memory` commands.
enum MemoryCLI {
    /// Every store, newest first.
    static func allStores(_ database: MemoryDatabase, includeArchived: Bool) async throws -> [MemoryStore] {
        var stores: [MemoryStore] = []
        var page = PageRequest(limit: 100)
        while true {
            let result = try await database.memory.listMemoryStores(MemoryStoreFilter(includeArchived: includeArchived), page: page)
            stores += result.items
            guard let next = result.next else { return stores }
            page.cursor = next
        }
    }

    /// A store by id, or by exact name when that name is unique.
    static func resolve(_ reference: String, _ database: MemoryDatabase) async throws -> MemoryStore {
        if ResourceID.hasPrefix(reference, ResourceID.memoryStore) { return try await database.memory.memoryStore(id: reference) }
        let matches = try await allStores(database, includeArchived: true).filter { $0.name == reference }
        switch matches.count {
        case 1: return matches[0]
        case 0: throw CommandFailure("no memory store named '\(reference)'")
        default: throw CommandFailure("\(matches.count) memory stores are named '\(reference)'; use an id: \(matches.map(\.id).joined(separator: ", "))")
        }
    }

    /// Indented lines for the memories under `prefix` (in path order): folders end in `/`,
    /// files show their size.
    static func treeLines(_ memories: [ReverieCore.Memory], under prefix: String) -> [String] {
        let base = MemoryPath.segments(prefix).filter { !$0.isEmpty }.count
        var lines: [String] = []
        var openFolders: [Substring] = []
        for memory in memories {
            let segments = Array(MemoryPath.segments(memory.path).dropFirst(base))
            let folders = segments.dropLast()
            var shared = 0
            while shared < min(openFolders.count, folders.count), openFolders[shared] == folders[folders.startIndex + shared] { shared += 1 }
            openFolders = Array(folders)
            for depth in shared..<folders.count {
                lines.append(String(repeating: "  ", count: depth) + folders[folders.startIndex + depth] + "/")
            }
            let name = segments.last.map(String.init) ?? memory.path
            let pin = memory.pinned ? "  [pinned]" : ""
            lines.append(String(repeating: "  ", count: folders.count) + name + "  (\(memory.contentSizeBytes) B)" + pin)
        }
        return lines
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// The data directory's database, and the memory service over it.
struct MemoryDatabase {
    let store: SQLiteStore
    let memory: MemoryService

    init(store: SQLiteStore) {
        self.store = store
        self.memory = MemoryService(store: store)
    }
}
