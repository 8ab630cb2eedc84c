import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieMockLLM
import ReverieModels
import ReverieServer
import ReverieStore
import Synchronization

/// `reverie bench work`: the tool round trip through a `self_hosted` environment's work queue.
struct BenchWork: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Tool calls served by workers through the work queue: the round trip from the call to the loop going on, without the tool's own time.")

    @Option(help: "Sessions running at once.")
    var sessions = 20

    @Option(help: "Workers polling the queue (each serves sessions/workers sessions at once).")
    var workers = 2

    @Option(name: .customLong("calls"), help: "Tool calls per session.")
    var calls = 10

    @Option(name: .customLong("data-dir"), help: "Data directory (default: a fresh temporary one).")
    var dataDirectory: String?

    @Option(name: .customLong("durability"), help: "fsync (acknowledged means fsynced, the default) or process.")
    var durability = "fsync"

    func run() async throws {
        guard sessions >= 1, workers >= 1, calls >= 1 else { throw ValidationError("--sessions, --workers and --calls must be at least 1") }
        guard let mode = Durability(rawValue: durability) else { throw ValidationError("--durability must be fsync or process") }
        // Every tool result says whether to go on; the model answers at once.
        let scenario = try MockScenario(json: Data("""
            {"rules": [
              {"name": "finish", "last_user_contains": "finished", "reply": "done"},
              {"name": "step", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "true"}}]}
            ]}
            """.utf8))
        let mock = MockLLMServer(scenario: scenario, configuration: MockLLMConfiguration(recordLimit: 1))
        let mockPort = try await mock.start()
        let harness = try await BenchHarness.start(dataDirectory: dataDirectory, models: BenchModels.configuration(mockURL: "http://127.0.0.1:\(mockPort)")) {
            $0.durability = mode
        }
        let platform = harness.host.platform
        print("reverie bench work: \(sessions) sessions at once, \(calls) tool calls each, \(workers) in-process workers over loopback HTTP; the tool answers at once; durability \(mode.rawValue)")

        let agent = try await harness.create("/v1/agents", #"{"name":"bench","model":"bench-model","tools":[{"type":"agent_toolset_20260401"}]}"#)
        let environment = try await harness.create("/v1/environments", #"{"name":"bench","config":{"type":"self_hosted"}}"#)
        let (status, keyBody) = try await harness.request(.POST, "/v1/environments/\(environment)/keys", body: #"{"name":"bench"}"#)
        guard status == 200, let key = (try JSONCoding.decode(JSONValue.self, from: Data(buffer: keyBody)))["key"]?.stringValue else {
            throw ValidationError("key create failed: \(status)")
        }
        var ids: [String] = []
        for _ in 0..<sessions { ids.append(try await harness.create("/v1/sessions", #"{"agent":"\#(agent)","environment_id":"\#(environment)"}"#)) }

        let logger = { () -> Logger in
            var logger = Logger(label: "reverie.bench.worker")
            logger.logLevel = .error
            return logger
        }()
        let port = harness.port
        let plane = CountingPlane(callsPerSession: calls)
        let slots = (sessions + workers - 1) / workers
        let clients = (0..<workers).map { _ in WorkQueueClient.makeHTTPClient(slots: slots) }
        let workerTasks = (0..<workers).map { index in
            Task {
                let client = WorkQueueClient(
                    baseURL: "http://127.0.0.1:\(port)", environmentID: environment, workerID: "bench-\(index)", http: clients[index])
                let server = WorkItemServer(client: client, key: key, maxIdle: .milliseconds(200), logger: logger)
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<slots {
                        group.addTask {
                            while !Task.isCancelled {
                                guard let item = try? await client.poll(key: key, blockMilliseconds: 999) else { continue }
                                _ = await server.serve(item) { _, _ in plane }
                            }
                        }
                    }
                }
            }
        }

        let steal = CPUSteal()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    let live = platform.log.hub.subscribe(sessionID: id)
                    let (status, _) = try await harness.request(
                        .POST, "/v1/sessions/\(id)/events", body: #"{"events":[{"type":"user.message","content":[{"type":"text","text":"go"}]}]}"#)
                    guard status == 200 else { throw ValidationError("send failed: \(status)") }
                    for await item in live {
                        if case .event(let event) = item, event.type == .sessionStatusIdle {
                            guard event.json.contains(#""end_turn""#) else { throw ValidationError("session \(id) did not end its turn: \(event.json)") }
                            return
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - start).seconds
        // Let the workers release their sessions (after their 200 ms idle grace) before stopping them.
        let store = harness.host.store
        let released = ContinuousClock.now + .seconds(10)
        while try await !store.liveWorkItems(environmentID: environment).isEmpty, ContinuousClock.now < released {
            try await Task.sleep(for: .milliseconds(50))
        }
        for task in workerTasks { task.cancel() }
        for task in workerTasks { await task.value }
        for client in clients { try await client.shutdown() }

        // From each session's log: call appended → worker's result appended → next model request started.
        // A session's first call also waits for a worker to claim its work item; the others ride the held item.
        var firstCalls: [Double] = []
        var roundTrips: [Double] = []
        var toWorker: [Double] = []
        var toLoop: [Double] = []
        for id in ids {
            let events = try await platform.log.events(sessionID: id, after: 0, limit: 100_000).map { try $0.event() }
            var callAt: Date?
            var resultAt: Date?
            var first = true
            for event in events {
                switch event.type {
                case .agentToolUse: callAt = event.processedAt
                case .userToolResult: resultAt = event.processedAt
                case .spanModelRequestStart:
                    if let call = callAt, let result = resultAt {
                        let roundTrip = event.processedAt.timeIntervalSince(call) * 1000
                        if first {
                            firstCalls.append(roundTrip)
                            first = false
                        } else {
                            roundTrips.append(roundTrip)
                            toWorker.append(result.timeIntervalSince(call) * 1000)
                            toLoop.append(event.processedAt.timeIntervalSince(result) * 1000)
                        }
                    }
                    (callAt, resultAt) = (nil, nil)
                default: break
                }
            }
        }
        firstCalls.sort()
        roundTrips.sort()
        toWorker.sort()
        toLoop.sort()
        let describe: ([Double]) -> String = { "p50 \(formatted(percentile($0, 50), 2)) ms, p99 \(formatted(percentile($0, 99), 2)) ms, max \(formatted($0.last ?? .nan, 2)) ms" }
        let total = firstCalls.count + roundTrips.count
        print("tool calls:  \(total) of \(sessions * calls) in \(formatted(elapsed, 2)) s (\(formatted(Double(total) / elapsed, 0)) calls/s), \(steal.note), load average \(Self.loadAverage())")
        print("round trip (call appended → loop's next model request), item held: \(describe(roundTrips)); target p50 ≤ 20 ms")
        print("  call appended → worker's result appended: \(describe(toWorker))")
        print("  result appended → next model request:     \(describe(toLoop))")
        print("first call of a session (a worker claims its item): \(describe(firstCalls))")
        try await harness.stop()
        await mock.stop()
    }
}

extension BenchWork {
    /// The 1-minute load average (the machine is shared: see docs/PERFORMANCE.md).
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "unknown"
    }
}

/// The benchmark's tool: answers at once, `continue` until a session has made its calls, then `finished`.
final class CountingPlane: ExecutionPlane, Sendable {
    let tools: [String: ToolDefinition] = [:]
    let callsPerSession: Int
    private let counts = Mutex<[String: Int]>([:])

    init(callsPerSession: Int) {
        self.callsPerSession = callsPerSession
    }

    func runCheck(_ command: String, timeout: Duration) async -> CheckResult { .notRun("the benchmark's plane runs no checks") }

    func execute(_ call: ToolCall) async -> ToolOutput {
        let count = counts.withLock { counts -> Int in
            counts[call.sessionID, default: 0] += 1
            return counts[call.sessionID, default: 0]
        }
        return .text(count >= callsPerSession ? "finished" : "continue")
    }
}
