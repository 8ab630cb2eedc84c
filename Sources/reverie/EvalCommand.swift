import ArgumentParser
import Foundation
import ReverieCore

/// `reverie eval`: run a task set against an agent with two memory stores and compare.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure whether a memory store helps: run a task set with a baseline and a candidate store.",
        discussion: """
            Talks to a running server over the API (--url, --api-key or $REVERIE_URL, $REVERIE_API_KEY). \
            Each run is an ordinary session graded by outcomes; see docs/evaluations.md.
            """,
        subcommands: [Run.self, Show.self, List.self, Cancel.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start an evaluation and follow it to its verdict.")
        @OptionGroup var server: ServerOptions
        @Option(name: .customLong("agent"), help: "The agent (agent_…).") var agent: String
        @Option(name: .customLong("environment"), help: "The environment its sessions run in (env_…).") var environment: String
        @Option(name: .customLong("tasks"), help: "A JSON file: {\"tasks\": [{\"name\", \"prompt\", \"rubric\", \"max_iterations\"}]}.")
        var tasks: String
        @Option(name: .customLong("baseline"), help: "The baseline memory store (memstore_…), or 'none'.") var baseline: String
        @Option(name: .customLong("candidate"), help: "The candidate memory store (memstore_…), or 'none'.") var candidate: String
        @Option(name: .customLong("repetitions"), help: "Runs per task and store (default 3).") var repetitions: Int?
        @Option(name: .customLong("concurrency"), help: "Sessions at once (default 2).") var concurrency: Int?
        @Flag(name: .customLong("no-wait"), help: "Print the evaluation's id and return at once.") var noWait = false

        func run() async throws {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: tasks))
            } catch {
                throw ValidationError("cannot read \(tasks): \(error.localizedDescription)")
            }
            guard let parsed = try? JSONCoding.decode(JSONValue.self, from: data) else { throw ValidationError("\(tasks) is not JSON") }
            let list = parsed["tasks"] ?? parsed
            guard list.arrayValue != nil else { throw ValidationError("\(tasks): expected {\"tasks\": [...]} or an array of tasks") }
            func arm(_ text: String) -> JSONValue { ["memory_store_id": text == "none" ? .null : .string(text)] }
            var body: [String: JSONValue] = [
                "agent": .string(agent), "environment_id": .string(environment), "tasks": list, "baseline": arm(baseline), "candidate": arm(candidate),
            ]
            if let repetitions { body["repetitions"] = .int(Int64(repetitions)) }
            if let concurrency { body["concurrency"] = .int(Int64(concurrency)) }
            let client = APIClient(options: server)
            let evaluation = try await client.send(.POST, "/v1/evaluations", json: .object(body))
            let id = evaluation["id"]?.stringValue ?? ""
            print(id)
            if noWait { return }
            let final = try await EvalCommand.follow(id, client: client)
            print(EvalCommand.describe(final))
            if final["status"] != "completed" { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an evaluation's progress or results.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The evaluation (eval_…).") var id: String

        func run() async throws {
            print(EvalCommand.describe(try await APIClient(options: server).send(.GET, "/v1/evaluations/\(id)")))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List evaluations, newest first.")
        @OptionGroup var server: ServerOptions
        @Option(help: "How many to show.") var limit = 20

        func run() async throws {
            let page = try await APIClient(options: server).send(.GET, "/v1/evaluations?limit=\(limit)")
            for evaluation in page["data"]?.arrayValue ?? [] {
                let verdict = evaluation["results"]?["comparison"]?["verdict"]?.stringValue ?? "-"
                print("\(evaluation["id"]?.stringValue ?? "?")  \(evaluation["status"]?.stringValue ?? "?")  \(verdict)  \(evaluation["created_at"]?.stringValue ?? "")")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an evaluation; its running sessions are interrupted.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The evaluation (eval_…).") var id: String

        func run() async throws {
            let evaluation = try await APIClient(options: server).send(.POST, "/v1/evaluations/\(id)/cancel")
            print("\(evaluation["id"]?.stringValue ?? id)  \(evaluation["status"]?.stringValue ?? "?")")
        }
    }

    /// Polls until the evaluation ends, printing how many runs have ended.
    static func follow(_ id: String, client: APIClient, quiet: Bool = false) async throws -> JSONValue {
        var last = ""
        while true {
            let evaluation = try await client.send(.GET, "/v1/evaluations/\(id)")
            let runs = evaluation["runs"]?.arrayValue ?? []
            let line = "\(evaluation["status"]?.stringValue ?? "?") · \(runs.filter { $0["state"] == "ended" }.count)/\(runs.count) runs ended"
            if line != last, !quiet {
                print("  \(line)")
                last = line
            }
            if ["completed", "failed", "canceled"].contains(evaluation["status"]?.stringValue ?? "") { return evaluation }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    /// The results as a small table and a verdict line.
    static func describe(_ evaluation: JSONValue) -> String {
        var lines = ["evaluation \(evaluation["id"]?.stringValue ?? "?"): \(evaluation["status"]?.stringValue ?? "?")"]
        let baseline = evaluation["baseline"]?["memory_store_id"]?.stringValue ?? "no memory"
        let candidate = evaluation["candidate"]?["memory_store_id"]?.stringValue ?? "no memory"
        lines.append("  baseline: \(baseline)   candidate: \(candidate)   repetitions: \(evaluation["repetitions"]?.intValue ?? 0)")
        if let error = evaluation["error"], !error.isNull { lines.append("  error: \(error["message"]?.stringValue ?? "")") }
        guard let results = evaluation["results"], !results.isNull else { return lines.joined(separator: "\n") }
        func arm(_ summary: JSONValue?) -> String {
            let runs = summary?["runs"]?.intValue ?? 0, satisfied = summary?["satisfied"]?.intValue ?? 0
            let iterations = summary?["mean_iterations_to_satisfied"].flatMap { $0.isNull ? nil : number($0) }.map { String(format: "%.1f it", $0) } ?? "-"
            let tokens = Int(number(summary?["mean_tokens"]) ?? 0), seconds = number(summary?["mean_seconds"]) ?? 0
            return "\(satisfied)/\(runs) satisfied, \(iterations), \(tokens) tok, \(String(format: "%.1f", seconds)) s"
        }
        for task in results["tasks"]?.arrayValue ?? [] {
            lines.append("  \(task["name"]?.stringValue ?? "?"): baseline \(arm(task["baseline"])) | candidate \(arm(task["candidate"])) → \(task["comparison"]?["verdict"]?.stringValue ?? "?")")
        }
        lines.append("  overall: baseline \(arm(results["baseline"])) | candidate \(arm(results["candidate"]))")
        let comparison = results["comparison"]
        let verdict = (comparison?["verdict"]?.stringValue ?? "?").replacingOccurrences(of: "_", with: " ")
        let wins = comparison?["candidate_wins"]?.intValue ?? 0, losses = comparison?["baseline_wins"]?.intValue ?? 0
        let ties = comparison?["ties"]?.intValue ?? 0, p = String(format: "%.3f", number(comparison?["p_value"]) ?? 1)
        lines.append("verdict: \(verdict) (candidate won \(wins), baseline won \(losses), \(ties) ties; sign test p = \(p))")
        return lines.joined(separator: "\n")
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let number): Double(number)
        case .double(let number): number
        default: nil
        }
    }
}
