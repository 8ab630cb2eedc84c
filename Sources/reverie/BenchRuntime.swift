import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieStore
import Synchronization

/// `reverie bench steps`: what the runtime itself costs per agent step (a model call plus a
/// tool call), with the model answered at once by an in-process mock and its round trips
/// subtracted.
struct BenchSteps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steps",
        abstract: "Platform overhead per agent step (model call + trivial tool), excluding the model's round trip.")

    @Option(help: "Agent steps (model call + read tool) per turn.")
    var steps = 200

    @Option(help: "Measured turns (each on a fresh session, one after another).")
    var turns = 5

    @Option(name: .customLong("data-dir"), help: "Data directory (default: a fresh temporary one).")
    var dataDirectory: String?

    func run() async throws {
        guard steps >= 2, turns >= 1 else { throw ValidationError("--steps must be at least 2 and --turns at least 1") }
        let directory = dataDirectory ?? (NSTemporaryDirectory() + "reverie-bench-" + UUID().uuidString)
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let scenario = Self.scenario(steps: steps)
        let mock = MockLLMServer(scenario: scenario, configuration: MockLLMConfiguration(recordLimit: 1), logger: logger)
        try await mock.start()
        let store = try SQLiteStore(path: (directory as NSString).appendingPathComponent("reverie.sqlite"), logger: logger)
        let catalog = ModelCatalog(configuration: BenchModels.configuration(mockURL: mock.baseURL ?? ""))
        let timer = ModelCallTimer()
        let log = SessionLog(store: store)
        let runner = SessionRunner(
            log: log, models: TimedModelRouting(catalog: catalog, timer: timer),
            configuration: RuntimeConfiguration(dataDirectory: directory, maxModelCallsPerTurn: steps + 10),
            makeExecutionPlane: { session, sandbox in
                LocalExecutionPlane(sandbox: sandbox, tools: session.agent.builtinToolset.map { BuiltinTools.tools(for: $0) } ?? [:])
            }, logger: logger)
        let platform = Platform(
            store: store, log: log, memory: MemoryService(store: store), driver: runner, dreamScheduler: IdleDreamScheduler(), webhooks: .ephemeral(),
            files: FileService(store: store, dataDirectory: directory))

        let agent = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader([
            "name": "bench", "model": "bench-model", "tools": [["type": "agent_toolset_20260401"]],
        ])))
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "bench"]), creating: true))
        print("reverie bench steps: \(turns) turn(s) of \(steps) steps (model call answered at once by an in-process mock + `read` of a small file)")

        // Warm-up turn (not measured).
        _ = try await turn(platform: platform, mock: mock, scenario: Self.scenario(steps: 20), agent: agent.id, environment: environment.id, timer: timer)
        var perStep: [Double] = []
        var modelPerStep: [Double] = []
        var totalPerStep: [Double] = []
        let cpuBefore = processCPUMilliseconds()
        let steal = CPUSteal()
        for _ in 0..<turns {
            let result = try await turn(platform: platform, mock: mock, scenario: scenario, agent: agent.id, environment: environment.id, timer: timer)
            guard result.modelCalls == steps else {
                throw ValidationError("a turn made \(result.modelCalls) model calls instead of \(steps)")
            }
            totalPerStep.append(result.total / Double(steps))
            modelPerStep.append(result.model / Double(steps))
            perStep.append((result.total - result.model) / Double(steps))
        }
        let cpuPerStep = (processCPUMilliseconds() - cpuBefore) / Double(turns * steps)
        let mean = perStep.reduce(0, +) / Double(perStep.count)
        print("end to end:        \(formatted(totalPerStep.reduce(0, +) / Double(turns), 3)) ms/step")
        print("model round trip:  \(formatted(modelPerStep.reduce(0, +) / Double(turns), 3)) ms/step (HTTP to the mock, streamed reply parsed)")
        print("platform overhead: \(formatted(mean, 3)) ms/step (min \(formatted(perStep.min() ?? 0, 3)), max \(formatted(perStep.max() ?? 0, 3)) over \(turns) turns); target ≤ 2 ms")
        print("process CPU:       \(formatted(cpuPerStep, 3)) ms/step (user + system, the in-process mock included); \(steal.note)")
        await runner.shutdown()
        try await catalog.shutdown()
        try await store.close()
        await mock.stop()
        if dataDirectory == nil { try? FileManager.default.removeItem(atPath: directory) }
    }

    struct TurnResult {
        /// Milliseconds from sending the message to the idle event.
        var total: Double
        /// Milliseconds spent in model calls.
        var model: Double
        var modelCalls: Int
    }

    /// One turn on a fresh session: sends `go` and waits for the session to go idle.
    func turn(platform: Platform, mock: MockLLMServer, scenario: MockScenario, agent: String, environment: String, timer: ModelCallTimer)
        async throws -> TurnResult
    {
        await mock.setScenario(scenario)
        let session = try await platform.sessions.createSession(try SessionCreateRequest(ObjectReader(["agent": .string(agent), "environment_id": .string(environment)])))
        let live = platform.log.hub.subscribe(sessionID: session.id)
        timer.reset()
        let start = ContinuousClock.now
        _ = try await platform.sessions.sendEvents(sessionID: session.id, try EventsSendRequest(ObjectReader([
            "events": [["type": "user.message", "content": [["type": "text", "text": "go"]]]],
        ])))
        var idle: StoredEvent?
        for await item in live {
            if case .event(let event) = item, event.type == .sessionStatusIdle {
                idle = event
                break
            }
        }
        let total = (ContinuousClock.now - start).milliseconds
        guard let idle, idle.json.contains(#""end_turn""#) else { throw ValidationError("the turn did not end normally: \(idle?.json ?? "no idle event")") }
        let (model, calls) = timer.totals
        return TurnResult(total: total, model: model.milliseconds, modelCalls: calls)
    }

    /// `write` a small file, then `read` it (steps − 2) times, then a final message.
    static func scenario(steps: Int) -> MockScenario {
        var sequence = [MockStep(reply: [.toolUse(name: "write", input: ["file_path": "note.txt", "content": "a small note\n"])])]
        for _ in 0..<(steps - 2) {
            sequence.append(MockStep(reply: [.toolUse(name: "read", input: ["file_path": "note.txt"])]))
        }
        sequence.append(MockStep(reply: [.text("done")]))
        return MockScenario(rules: [MockRule(name: "steps", sequence: sequence)])
    }
}

/// `reverie bench sessions`: many sessions running at once against a slow model.
struct BenchSessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Concurrent sessions (each: model call → write tool → model call) against a mock model with fixed latency.")

    @Option(help: "Sessions started at once.")
    var sessions = 1000

    @Option(name: .customLong("latency-ms"), help: "The mock model's latency per call.")
    var latencyMs = 200

    @Option(name: .customLong("data-dir"), help: "Data directory (default: a fresh temporary one).")
    var dataDirectory: String?

    @Flag(name: .customLong("in-process-mock"), help: "Run the mock model in this process (its memory then counts in the peak RSS).")
    var inProcessMock = false

    func run() async throws {
        let (mockURL, stopMock) = try await startMock()
        defer { stopMock() }
        let harness = try await BenchHarness.start(dataDirectory: dataDirectory, models: BenchModels.configuration(mockURL: mockURL))
        let platform = harness.host.platform
        print("reverie bench sessions: \(sessions) sessions at once, mock model latency \(latencyMs) ms, 2 model calls + 1 write per session"
            + (inProcessMock ? " (mock in process)" : " (mock in a child process)"))

        let agent = try await harness.create("/v1/agents", #"{"name":"bench","model":"bench-model","tools":[{"type":"agent_toolset_20260401"}]}"#)
        let environment = try await harness.create("/v1/environments", #"{"name":"bench"}"#)
        var ids: [String] = []
        ids.reserveCapacity(sessions)
        try await withThrowingTaskGroup(of: [String].self) { group in
            let workers = 16
            for worker in 0..<workers {
                group.addTask {
                    var made: [String] = []
                    for _ in stride(from: worker, to: sessions, by: workers) {
                        made.append(try await harness.create("/v1/sessions", #"{"agent":"\#(agent)","environment_id":"\#(environment)"}"#))
                    }
                    return made
                }
            }
            for try await made in group { ids += made }
        }
        let rssBefore = MemoryFigures.current()
        let sampler = RSSSampler()
        let sampling = Task { await sampler.run() }

        let start = ContinuousClock.now
        let outcome = await withTaskGroup(of: SessionRun.self) { group in
            for id in ids {
                group.addTask {
                    let live = platform.log.hub.subscribe(sessionID: id)
                    let body = #"{"events":[{"type":"user.message","content":[{"type":"text","text":"start \#(id)"}]}]}"#
                    guard let (status, _) = try? await harness.request(.POST, "/v1/sessions/\(id)/events", body: body), status == 200 else {
                        return SessionRun(ok: false, seconds: 0, reason: "send failed")
                    }
                    var sawError = false
                    for await item in live {
                        guard case .event(let event) = item else { continue }
                        if event.type == .sessionError { sawError = true }
                        if event.type == .sessionStatusIdle {
                            let finished = (ContinuousClock.now - start).seconds
                            let ended = event.json.contains(#""end_turn""#)
                            return SessionRun(ok: ended && !sawError, seconds: finished, reason: ended ? (sawError ? "session.error" : nil) : event.json)
                        }
                    }
                    return SessionRun(ok: false, seconds: 0, reason: "stream ended")
                }
            }
            var runs: [SessionRun] = []
            for await run in group { runs.append(run) }
            return runs
        }
        let elapsed = (ContinuousClock.now - start).seconds
        sampling.cancel()
        let peakSampled = await sampler.peak
        let after = MemoryFigures.current()
        let failures = outcome.filter { !$0.ok }
        let times = outcome.filter(\.ok).map(\.seconds).sorted()
        print("completed:  \(outcome.count - failures.count)/\(sessions) sessions in \(formatted(elapsed, 2)) s (ideal ≥ \(formatted(Double(2 * latencyMs) / 1000, 2)) s)")
        print("per session: p50 \(formatted(percentile(times, 50), 2)) s, p99 \(formatted(percentile(times, 99), 2)) s, max \(formatted(times.last ?? .nan, 2)) s (from the common start)")
        print("errors:     \(failures.count)" + (failures.first.map { " (first: \($0.reason ?? "?"))" } ?? ""))
        print("memory:     RSS before \(mib(rssBefore.rss)) MiB, sampled peak \(mib(max(peakSampled, after.rss))) MiB, process peak (VmHWM) \(mib(after.peak)) MiB; target ≤ 1024 MiB")
        try await harness.stop()
    }

    struct SessionRun: Sendable {
        var ok: Bool
        var seconds: Double
        var reason: String?
    }

    /// The mock model: a child `reverie mock-llm` process (default) or in this process.
    func startMock() async throws -> (url: String, stop: @Sendable () -> Void) {
        let scenario = """
            {"defaults": {"latency_ms": \(latencyMs)},
             "rules": [
               {"name": "work", "last_user_contains": "start ", "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "out.txt", "content": "bench output"}}]},
               {"name": "finish", "reply": "done"}
             ]}
            """
        if inProcessMock {
            let server = MockLLMServer(scenario: try MockScenario(json: Data(scenario.utf8)), configuration: MockLLMConfiguration(recordLimit: 1))
            let port = try await server.start()
            return ("http://127.0.0.1:\(port)", { Task { await server.stop() } })
        }
        let file = NSTemporaryDirectory() + "reverie-bench-scenario-\(UUID().uuidString).json"
        try Data(scenario.utf8).write(to: URL(fileURLWithPath: file))
        let child = try await BenchChild.start(
            ["mock-llm", "--port", "0", "--scenario", file, "--record-limit", "1", "--log-level", "error"], announcing: "http://")
        return (child.announcement, {
            child.process.signal(SIGTERM)
            _ = child.process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: file)
        })
    }
}

/// Model settings of the benchmarks: every model goes to the mock; no retries hide failures.
enum BenchModels {
    static func configuration(mockURL: String) -> ModelCatalogConfiguration {
        ModelCatalogConfiguration(
            providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: mockURL, apiKey: "bench", timeout: .seconds(120), retry: .none)],
            routes: [ModelRoute(match: "*", provider: "mock")], maxConnectionsPerHost: 2048)
    }
}

/// Adds up the time spent in model calls.
final class ModelCallTimer: Sendable {
    private let state = Mutex((total: Duration.zero, calls: 0))

    func add(_ duration: Duration) { state.withLock { $0 = ($0.total + duration, $0.calls + 1) } }
    func reset() { state.withLock { $0 = (.zero, 0) } }
    var totals: (Duration, Int) { state.withLock { ($0.total, $0.calls) } }
}

/// A provider that times each call of another.
struct TimedModelProvider: ModelProvider {
    let base: any ModelProvider
    let timer: ModelCallTimer

    func complete(_ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void) async throws -> ModelResponse {
        let start = ContinuousClock.now
        defer { timer.add(ContinuousClock.now - start) }
        return try await base.complete(request, onEvent: onEvent)
    }
}

/// Routes like the catalog, timing every call.
struct TimedModelRouting: ModelRouting {
    let catalog: ModelCatalog
    let timer: ModelCallTimer

    func provider(for model: String) throws -> any ModelProvider {
        let resolved = try catalog.resolve(model)
        return RetryingModelProvider(TimedModelProvider(base: resolved.provider, timer: timer), policy: resolved.retryPolicy)
    }

    func contextWindow(for model: String) -> ContextWindow { catalog.contextWindow(for: model) }
    func price(for model: String) -> ModelPrice? { catalog.price(for: model) }
}

/// Resident memory of this process, from /proc/self/status (Linux).
struct MemoryFigures {
    var rss: Int
    var peak: Int

    static func current() -> MemoryFigures {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return MemoryFigures(rss: 0, peak: 0) }
        func kib(_ key: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return MemoryFigures(rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024)
    }
}

/// Samples the resident set every 50 ms while running.
actor RSSSampler {
    private(set) var peak = 0

    func run() async {
        while !Task.isCancelled {
            peak = max(peak, MemoryFigures.current().rss)
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

#if canImport(Glibc)
/// `RUSAGE_SELF` as Glibc's `getrusage` takes it.
private let rusageSelf = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let rusageSelf = RUSAGE_SELF
#endif

/// User plus system CPU time this process has used, in milliseconds.
func processCPUMilliseconds() -> Double {
    var usage = rusage()
    guard getrusage(rusageSelf, &usage) == 0 else { return 0 }
    let user = Double(usage.ru_utime.tv_sec) * 1000 + Double(usage.ru_utime.tv_usec) / 1000
    let system = Double(usage.ru_stime.tv_sec) * 1000 + Double(usage.ru_stime.tv_usec) / 1000
    return user + system
}

func mib(_ bytes: Int) -> String { formatted(Double(bytes) / 1_048_576, 0) }
