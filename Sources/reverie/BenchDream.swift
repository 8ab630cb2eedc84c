import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `reverie bench dream`: a dream over many sessions with an instant mock dreamer, timing
/// Reverie's own work (digest, extract, curate, write) apart from the model's.
struct BenchDream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dream",
        abstract: "Time a dream's own work (excluding model time) and compare tokens sent with the raw logs.")

    @Option(help: "Input sessions.") var sessions = 100
    @Option(help: "Approximate size of each session's event log (KB).") var kilobytes = 16
    @Option(help: "Memories already in the input store.") var memories = 50
    @Option(name: .customLong("token-budget"), help: "The dream's token budget.") var tokenBudget = DreamRequest.defaultTokenBudget

    func run() async throws {
        let directory = NSTemporaryDirectory() + "reverie-bench-dream-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let store = try SQLiteStore(path: directory + "/reverie.sqlite", logger: logger)
        let platform = Platform.withoutRuntime(store: store, dataDirectory: directory)

        // Inputs.
        let memoryStore = try await platform.memory.createMemoryStore(MemoryStoreRequest(name: "bench", description: "", metadata: [:]))
        for index in 0..<memories {
            try await platform.memory.writeMemory(
                storeID: memoryStore.id, path: "/lessons/lesson-\(index).md", content: "Lesson \(index): keep builds green and small.", actor: .user("bench"))
        }
        let agent = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader(["name": "worker", "model": "claude-test"])))
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "bench"]), creating: true))
        var sessionIDs: [String] = []
        for index in 0..<sessions {
            let session = try await platform.sessions.createSession(try SessionCreateRequest(ObjectReader(["agent": .string(agent.id), "environment_id": .string(environment.id)])))
            _ = try await platform.log.append(Self.log(task: index, kilobytes: kilobytes), to: session.id)
            sessionIDs.append(session.id)
        }
        let dream = Dream(
            id: ResourceID.make(ResourceID.dream), memoryStoreID: memoryStore.id, sessionIDs: sessionIDs, model: "claude-dreamer", instructions: nil,
            outputBehavior: .createNew, tokenBudget: tokenBudget, createdAt: Timestamp.now())
        try await store.createDream(dream)

        // An instant mock dreamer over real HTTP.
        let extract = #"{"candidates": [{"kind": "workflow", "text": "Run the tests before saying done.", "evidence": [{"session": "S1", "events": ["e1"]}]}]}"#
        var operations: [String] = []
        for index in 0..<20 {
            operations.append(#"{"op": "add", "path": "/lessons/new-\#(index).md", "content": "New lesson \#(index) about the build.", "rationale": "seen", "evidence": [{"session": "S\#(index % max(1, sessions) + 1)", "events": ["e1"]}]}"#)
        }
        let curate = #"{"operations": [\#(operations.joined(separator: ","))]}"#
        let mock = MockLLMServer(scenario: MockScenario(rules: [
            MockRule(systemContains: "propose lessons", .text(extract)), MockRule(systemContains: "You maintain a memory store", .text(curate)),
        ]))
        try await mock.start()
        let http = ModelHTTPClient()
        let timed = TimedProvider(base: AnthropicProvider(configuration: AnthropicConfiguration(baseURL: mock.baseURL ?? "", apiKey: "x"), http: http))

        let clock = ContinuousClock()
        let started = clock.now
        let report = try await DreamPipeline(log: platform.log, memory: platform.memory, provider: timed).plan(dream, observer: DreamPipeline.Observer())
        let planned = clock.now
        let writer = DreamWriter(memory: platform.memory)
        let output = try await writer.outputStore(for: dream) { _ in }
        try await writer.apply(report, dream: dream, storeID: output)
        let written = clock.now

        let modelTime = timed.elapsed
        let plan = planned - started - modelTime
        let write = written - planned
        let rawTokens = report.reading.rawCharacters / 4
        let sentTokens = timed.promptTokens
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print("dream over \(sessions) sessions of ~\(kilobytes) KB, \(memories) memories, token budget \(tokenBudget)")
        print("  raw logs: \(report.reading.rawCharacters) characters (~\(rawTokens) tokens); digests: \(report.reading.digestCharacters) characters")
        print("  model calls: \(timed.calls); prompt tokens sent: ~\(sentTokens) = \(String(format: "%.1f", 100 * Double(sentTokens) / Double(max(1, rawTokens))))% of the raw logs")
        print("  compressed sessions: \(report.reading.compressed.count); omitted: \(report.reading.omitted.count)")
        print("  Reverie's own work: digest+extract+curate \(Self.ms(plan)) ms, write \(Self.ms(write)) ms (\(report.operations.count) operations, \(memories) memories copied); model time excluded: \(Self.ms(modelTime)) ms")
        print("  peak RSS: \(usage.ru_maxrss / 1024) MiB")
        try await http.shutdown()
        await mock.stop()
        try await store.close()
    }

    static func ms(_ duration: Duration) -> String {
        String(format: "%.0f", duration.milliseconds)
    }

    /// A working session of about `kilobytes` KB: a request, tool calls with large outputs
    /// (every third failing), a correction, the end of the turn.
    static func log(task: Int, kilobytes: Int) -> [SessionEvent] {
        var events = [SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": .string("Please build part \(task) and fix what fails.")]]])]
        let output = String(repeating: "compiling module \(task): warning: unused variable in generated code\n", count: 14)
        var size = 0
        var call = 0
        while size < kilobytes * 1024 {
            call += 1
            let use = SessionEvent(type: .agentToolUse, fields: ["name": "bash", "input": ["command": .string("make -C part\(task) step\(call)")]])
            events.append(use)
            events.append(SessionEvent(type: .agentToolResult, fields: [
                "tool_use_id": .string(use.id), "content": [["type": "text", "text": .string(output)]], "is_error": .bool(call % 3 == 0),
            ]))
            events.append(SessionEvent(type: .agentMessage, fields: ["content": [["type": "text", "text": .string("Step \(call) done; moving on to the next one.")]]]))
            size += output.utf8.count + 600
        }
        events.append(SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": "You forgot to run the tests before saying done."]]]))
        events.append(SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": ["type": "end_turn"]]))
        return events
    }
}

/// Wraps a provider, adding up the time spent in model calls and the prompt tokens sent.
final class TimedProvider: ModelProvider, Sendable {
    let base: any ModelProvider
    private let totals = Mutex((elapsed: Duration.zero, calls: 0, promptTokens: 0))

    init(base: any ModelProvider) { self.base = base }

    var elapsed: Duration { totals.withLock { $0.elapsed } }
    var calls: Int { totals.withLock { $0.calls } }
    var promptTokens: Int { totals.withLock { $0.promptTokens } }

    func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        let promptTokens = DreamPipeline.promptTokens(request)
        let started = ContinuousClock.now
        let response = try await base.complete(request, onEvent: onEvent)
        let elapsed = ContinuousClock.now - started
        totals.withLock {
            $0.elapsed += elapsed
            $0.calls += 1
            $0.promptTokens += promptTokens
        }
        return response
    }
}
