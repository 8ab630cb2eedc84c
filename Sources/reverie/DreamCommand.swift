import ArgumentParser
import Foundation
import ReverieCore

/// `reverie dream`: create, watch, inspect, cancel and review dreams on a running server.
struct DreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dream",
        abstract: "Create, follow, list, cancel and review dreams.",
        discussion: """
            Talks to a running server over the API (--url, --api-key or $REVERIE_URL, \
            $REVERIE_API_KEY). A dream reads a memory store and past sessions and writes a new, \
            reviewable store of lessons; see docs/dreams.md.
            """,
        subcommands: [Create.self, Show.self, List.self, Cancel.self, Review.self, Promote.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a dream and follow its progress.")
        @OptionGroup var server: ServerOptions
        @Option(name: .customLong("store"), help: "The memory store to consolidate (memstore_…).")
        var store: String
        @Option(name: .customLong("session"), help: "A session to learn from (repeat, 1–100).")
        var sessions: [String] = []
        @Option(name: .customLong("model"), help: "The dreamer model.")
        var model: String
        @Option(name: .customLong("instructions"), help: "Guidance for the dream (≤ 4096 characters).")
        var instructions: String?
        @Flag(name: .customLong("in-place"), help: "Update the input store instead of writing a new one.")
        var inPlace = false
        @Option(name: .customLong("token-budget"), help: "Most tokens the dream may spend (default 200000).")
        var tokenBudget: Int?
        @Flag(name: .customLong("no-wait"), help: "Print the dream's id and return at once.")
        var noWait = false

        func run() async throws {
            guard !sessions.isEmpty else { throw ValidationError("name at least one --session") }
            var body: [String: JSONValue] = [
                "inputs": [
                    ["type": "memory_store", "memory_store_id": .string(store)],
                    ["type": "sessions", "session_ids": .array(sessions.map(JSONValue.string))],
                ],
                "model": .string(model),
            ]
            if let instructions { body["instructions"] = .string(instructions) }
            if inPlace { body["output_behavior"] = ["type": "update_existing", "memory_store_id": .string(store)] }
            if let tokenBudget { body["token_budget"] = .int(Int64(tokenBudget)) }
            let client = APIClient(options: server)
            let dream = try await client.send(.POST, "/v1/dreams", json: .object(body))
            let id = dream["id"]?.stringValue ?? ""
            print(id)
            if noWait { return }
            try await DreamCommand.follow(id, client: client)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a dream and, once it has one, its report: each operation's content, rationale and quoted evidence.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dream (drm_…).") var id: String
        @Flag(name: .customLong("json"), help: "Print the report as the API's JSON.") var json = false

        func run() async throws {
            let client = APIClient(options: server)
            let dream = try await client.send(.GET, "/v1/dreams/\(id)")
            if json {
                let report = (try? await client.send(.GET, "/v1/dreams/\(id)/report")) ?? .null
                print(try JSONCoding.string(JSONValue.object(["dream": dream, "report": report])))
                return
            }
            print(DreamCommand.summary(dream))
            if let report = try? await client.text(.GET, "/v1/dreams/\(id)/report?format=markdown") { print("\n" + report) }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a completed dream's output in place of its input store.",
            discussion: """
                'apply' (the default) replays the dream's operations that were not rejected, and the \
                withheld ones you accepted, onto the input store; it changes nothing if the input \
                store changed at one of those paths since the dream read it. 'replace' makes the input \
                store's memories exactly the output store's. Pending operations count as accepted.
                """)
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dream (drm_…).") var id: String
        @Option(name: .customLong("strategy"), help: "apply or replace.") var strategy = "apply"

        func run() async throws {
            let report = try await APIClient(options: server).send(.POST, "/v1/dreams/\(id)/promote", json: ["strategy": .string(strategy)])
            let promotion = report["promotion"]
            let paths = (promotion?["changed_paths"]?.arrayValue ?? []).compactMap(\.stringValue)
            print("promoted into \(promotion?["memory_store_id"]?.stringValue ?? "?"): \(paths.count) path(s) changed")
            for path in paths { print("  \(path)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dreams, newest first.")
        @OptionGroup var server: ServerOptions
        @Option(name: .customLong("status"), help: "Only dreams in this status (repeatable).")
        var statuses: [String] = []
        @Option(help: "How many to show.") var limit = 20
        @Flag(name: .customLong("include-archived")) var includeArchived = false

        func run() async throws {
            var query = "limit=\(limit)&include_archived=\(includeArchived)"
            for status in statuses { query += "&statuses[]=\(status)" }
            let page = try await APIClient(options: server).send(.GET, "/v1/dreams?\(query)")
            for dream in page["data"]?.arrayValue ?? [] { print(DreamCommand.summary(dream, oneLine: true)) }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a pending or running dream.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dream (drm_…).") var id: String

        func run() async throws {
            print(DreamCommand.summary(try await APIClient(options: server).send(.POST, "/v1/dreams/\(id)/cancel"), oneLine: true))
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept or reject a completed dream's operations.",
            discussion: """
                Without --accept/--reject options, asks about each pending operation in turn, withheld ones \
                (wh_…) included. Rejected operations are reverted in the output store; accepted withheld ones \
                are written to it. --accept-all and --reject-all decide only applied operations (op_…): \
                withheld ones are always decided by name.
                """)
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dream (drm_…).") var id: String
        @Option(name: .customLong("accept"), help: "Accept this operation (op_… or wh_…); repeatable.") var accept: [String] = []
        @Option(name: .customLong("reject"), help: "Reject this operation (op_… or wh_…); repeatable.") var reject: [String] = []
        @Flag(name: .customLong("accept-all"), help: "Accept every pending operation.") var acceptAll = false
        @Flag(name: .customLong("reject-all"), help: "Reject every pending operation.") var rejectAll = false

        func run() async throws {
            let client = APIClient(options: server)
            let path = "/v1/dreams/\(id)/review"
            if acceptAll || rejectAll {
                guard !(acceptAll && rejectAll) else { throw ValidationError("choose --accept-all or --reject-all, not both") }
                print(DreamCommand.describe(try await client.send(.POST, path, json: ["decision": acceptAll ? "accept" : "reject"])))
                return
            }
            if !accept.isEmpty || !reject.isEmpty {
                var report: JSONValue = .null
                if !accept.isEmpty { report = try await client.send(.POST, path, json: ["decision": "accept", "operation_ids": .array(accept.map(JSONValue.string))]) }
                if !reject.isEmpty { report = try await client.send(.POST, path, json: ["decision": "reject", "operation_ids": .array(reject.map(JSONValue.string))]) }
                print(DreamCommand.describe(report))
                return
            }
            let report = try await client.send(.GET, "/v1/dreams/\(id)/report")
            let operations = (report["operations"]?.arrayValue ?? []) + (report["withheld"]?.arrayValue ?? [])
            for operation in operations where operation["review"] == "pending" {
                print(DreamCommand.describe(operation: operation, full: true))
                print("[a]ccept, [r]eject, [s]kip, [q]uit? ", terminator: "")
                guard let answer = readLine()?.lowercased().first else { return }
                let opID = operation["id"] ?? .null
                switch answer {
                case "a": _ = try await client.send(.POST, path, json: ["decision": "accept", "operation_ids": [opID]])
                case "r": _ = try await client.send(.POST, path, json: ["decision": "reject", "operation_ids": [opID]])
                case "q": return
                default: continue
                }
            }
        }
    }

    // MARK: output

    /// Polls the dream, printing each stage it enters, until it ends.
    static func follow(_ id: String, client: APIClient) async throws {
        var last = ""
        while true {
            let dream = try await client.send(.GET, "/v1/dreams/\(id)")
            let status = dream["status"]?.stringValue ?? "?"
            let line = "\(status)\(dream["stage"]?.stringValue.map { " · \($0)" } ?? "")"
            if line != last {
                print("  \(line)")
                last = line
            }
            if ["completed", "failed", "canceled"].contains(status) {
                print(summary(dream))
                if status == "completed", let report = try? await client.send(.GET, "/v1/dreams/\(id)/report") { print(describe(report)) }
                if status == "failed" { throw ExitCode(1) }
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    static func summary(_ dream: JSONValue, oneLine: Bool = false) -> String {
        let id = dream["id"]?.stringValue ?? "?"
        let status = dream["status"]?.stringValue ?? "?"
        let output = dream["outputs"]?.arrayValue?.first?["memory_store_id"]?.stringValue ?? "-"
        let usage = dream["usage"]
        let tokens = Int(usage?["input_tokens"]?.intValue ?? 0) + Int(usage?["output_tokens"]?.intValue ?? 0)
        if oneLine { return "\(id)  \(status)  output \(output)  \(tokens) tokens  \(dream["created_at"]?.stringValue ?? "")" }
        var lines = ["dream \(id): \(status)", "  output store: \(output)", "  tokens used: \(tokens) of \(dream["token_budget"]?.intValue ?? 0)"]
        if let error = dream["error"], !error.isNull {
            lines.append("  error: \(error["type"]?.stringValue ?? ""): \(error["message"]?.stringValue ?? "")")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ report: JSONValue) -> String {
        var lines: [String] = []
        let reading = report["reading"]
        lines.append("read \(reading?["sessions"]?.intValue ?? 0) session(s): \(reading?["raw_characters"]?.intValue ?? 0) → \(reading?["digest_characters"]?.intValue ?? 0) characters")
        for operation in report["operations"]?.arrayValue ?? [] { lines.append(describe(operation: operation, full: false)) }
        for refused in report["refused"]?.arrayValue ?? [] {
            lines.append("  refused \(refused["action"]?.stringValue ?? "") \(refused["path"]?.stringValue ?? ""): \(refused["reason"]?.stringValue ?? "")")
        }
        for operation in report["withheld"]?.arrayValue ?? [] {
            lines.append(describe(operation: operation, full: false) + " — withheld: \(operation["held_because"]?.stringValue ?? "")")
        }
        let quarantined = report["quarantined_transcript"]?.arrayValue?.count ?? 0
        if quarantined > 0 { lines.append("  \(quarantined) passage(s) of transcript text kept from the dreamer (instruction-like)") }
        return lines.joined(separator: "\n")
    }

    static func describe(operation: JSONValue, full: Bool) -> String {
        let head = "  \(operation["id"]?.stringValue ?? "") [\(operation["review"]?.stringValue ?? "")] \(operation["action"]?.stringValue ?? "") \(operation["path"]?.stringValue ?? "")"
        guard full else { return head }
        var lines = [head, "    why: \(operation["rationale"]?.stringValue ?? "")"]
        if let held = operation["held_because"]?.stringValue { lines.append("    withheld: \(held)") }
        if let content = operation["content"]?.stringValue { lines.append("    new: " + content.replacingOccurrences(of: "\n", with: "\n         ")) }
        if let previous = operation["previous_content"]?.stringValue { lines.append("    was: " + previous.replacingOccurrences(of: "\n", with: "\n         ")) }
        for evidence in operation["evidence"]?.arrayValue ?? [] {
            let quotes = evidence["quotes"]?.arrayValue ?? []
            for event in (evidence["event_ids"]?.arrayValue ?? []).compactMap(\.stringValue) {
                let quote = quotes.first { $0["event_id"]?.stringValue == event }?["text"]?.stringValue
                lines.append("    evidence: \(evidence["session_id"]?.stringValue ?? "") \(event)" + (quote.map { ": “\($0)”" } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}
