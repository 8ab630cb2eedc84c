import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieStore

/// `reverie bench context`: the input tokens a long session sends, with and without
/// compaction and prompt caching, as the mock model reports them (it simulates the Messages
/// API's prompt cache).
struct BenchContext: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "context",
        abstract: "Input tokens of a long session (read a 2 KB file each step) with and without compaction and prompt caching.")

    @Option(help: "Agent steps (model call + read tool) in the session.")
    var steps = 200

    @Option(name: .customLong("window"), help: "Context window (tokens) of the runs with compaction.")
    var window = 32_000

    @Option(name: .customLong("file-bytes"), help: "Size of the file the agent reads at each step.")
    var fileBytes = 2_048

    struct Figures {
        var requests = 0
        var compactions = 0
        var input = 0
        var cacheRead = 0
        var cacheWrite = 0
        var largestRequest = 0
        var seconds = 0.0
        /// Every input token, however it was billed.
        var sent: Int { input + cacheRead + cacheWrite }
        /// Input priced as the Messages API does: cache writes at 1.25×, reads at 0.1×.
        var billed: Double { Double(input) + 1.25 * Double(cacheWrite) + 0.1 * Double(cacheRead) }
    }

    func run() async throws {
        guard steps >= 3, window >= 4_096 else { throw ValidationError("--steps must be at least 3 and --window at least 4096") }
        print("reverie bench context: one session of \(steps) steps, each reading a \(fileBytes)-byte file; tokens as the mock reports them (4 bytes a token)")
        print(row(["run", "requests", "compactions", "input", "cache read", "cache write", "all input", "billed equiv.", "largest", "seconds"]))
        var results: [(String, Figures)] = []
        for (name, compaction, caching) in [("no compaction, no cache", false, false), ("cache only", false, true),
                                            ("compaction only", true, false), ("compaction + cache", true, true)] {
            let figures = try await measure(compaction: compaction, caching: caching)
            results.append((name, figures))
            print(row([
                name, "\(figures.requests)", "\(figures.compactions)", "\(figures.input)", "\(figures.cacheRead)", "\(figures.cacheWrite)",
                "\(figures.sent)", formatted(figures.billed, 0), "\(figures.largestRequest)", formatted(figures.seconds, 1),
            ]))
        }
        if let base = results.first?.1.billed, base > 0 {
            for (name, figures) in results.dropFirst() {
                print("\(name): billed-equivalent input \(formatted(100 * figures.billed / base, 1)) % of the baseline")
            }
        }
    }

    /// A table row: the first column left-aligned, the others right-aligned.
    func row(_ cells: [String]) -> String {
        let widths = [24, 9, 12, 12, 12, 12, 12, 14, 9, 8]
        return zip(cells, widths).enumerated().map { index, pair in
            let (cell, width) = pair
            let padding = String(repeating: " ", count: max(0, width - cell.count))
            return index == 0 ? cell + padding : padding + cell
        }.joined(separator: " ")
    }

    func measure(compaction: Bool, caching: Bool) async throws -> Figures {
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let mock = MockLLMServer(scenario: scenario(), configuration: MockLLMConfiguration(recordLimit: steps * 2), logger: logger)
        try await mock.start()
        let models = ModelCatalogConfiguration(
            providers: [
                "mock": ProviderSettings(kind: .anthropic, baseURL: mock.baseURL ?? "", apiKey: "bench", timeout: .seconds(120), promptCaching: caching, retry: .none),
            ],
            routes: [ModelRoute(match: "*", provider: "mock", contextWindow: compaction ? window : 10_000_000)])
        let harness = try await BenchHarness.start(dataDirectory: nil, models: models) { configuration in
            configuration.runtime.maxModelCallsPerTurn = steps + 10
        }
        let agent = try await harness.create("/v1/agents", #"{"name":"bench","model":"bench-model","system":"You read files.","tools":[{"type":"agent_toolset_20260401"}]}"#)
        let environment = try await harness.create("/v1/environments", #"{"name":"bench"}"#)
        let session = try await harness.create("/v1/sessions", #"{"agent":"\#(agent)","environment_id":"\#(environment)"}"#)
        let live = harness.host.platform.log.hub.subscribe(sessionID: session)
        let start = ContinuousClock.now
        let (status, _) = try await harness.request(
            .POST, "/v1/sessions/\(session)/events", body: #"{"events":[{"type":"user.message","content":[{"type":"text","text":"go"}]}]}"#)
        guard status == 200 else { throw ValidationError("sending the message failed: \(status)") }
        for await item in live {
            if case .event(let event) = item, event.type == .sessionStatusIdle { break }
        }
        var figures = Figures()
        figures.seconds = (ContinuousClock.now - start).seconds
        for stored in try await harness.host.store.events(sessionID: session, after: 0, limit: Int.max) {
            let event = try stored.event()
            if event.type == .agentThreadContextCompacted { figures.compactions += 1 }
            if event.type == .sessionError { throw ValidationError("the session failed: \(stored.json)") }
            guard event.type == .spanModelRequestEnd, let usage = event.fields["model_usage"] else { continue }
            figures.requests += 1
            figures.input += Int(usage["input_tokens"]?.intValue ?? 0)
            figures.cacheRead += Int(usage["cache_read_input_tokens"]?.intValue ?? 0)
            figures.cacheWrite += Int(usage["cache_creation_input_tokens"]?.intValue ?? 0)
        }
        for request in await mock.requests() {
            figures.largestRequest = max(figures.largestRequest, ((try? JSONCoding.data(request.body).count) ?? 0) / 4)
        }
        try await harness.stop()
        await mock.stop()
        return figures
    }

    /// `write` the file, `read` it (steps − 2) times, a final message; summaries on request.
    func scenario() -> MockScenario {
        let line = String(repeating: "bulky log line with nothing to learn ", count: 2) + "\n"
        let content = String(String(repeating: line, count: fileBytes / line.utf8.count + 1).prefix(fileBytes))
        var sequence = [MockStep(reply: [.toolUse(name: "write", input: ["file_path": "log.txt", "content": .string(content)])])]
        for _ in 0..<(steps - 2) {
            sequence.append(MockStep(reply: [.toolUse(name: "read", input: ["file_path": "log.txt"])]))
        }
        sequence.append(MockStep(reply: [.text("done")]))
        let compactor = MockRule(
            name: "compactor", systemContains: "Reverie context compaction",
            MockStep(reply: [.text("Summary: the agent has been reading log.txt; nothing in it mattered.")]))
        return MockScenario(rules: [compactor, MockRule(name: "steps", sequence: sequence)])
    }
}
