import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieServer

/// `reverie bench threads`: wall time of a coordinator fanning a job out to N specialist
/// threads against a slow mock model, run in parallel and then one thread at a time.
struct BenchThreads: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threads",
        abstract: "Time a coordinator's fan-out to specialist threads: concurrent versus one at a time.")

    @Option(help: "Specialist threads the coordinator starts.") var specialists = 20
    @Option(name: .customLong("latency-ms"), help: "Latency of every mock model reply (ms).") var latencyMs = 500

    func run() async throws {
        let concurrent = try await measure(limit: 25)
        let sequential = try await measure(limit: 1)
        print("coordinator fan-out to \(specialists) specialists, mock model latency \(latencyMs) ms, 2 model calls per specialist")
        print("  concurrent (up to 25 threads): \(BenchDream.ms(concurrent.wall)) ms wall, peak \(concurrent.peak) threads at once")
        print("  one at a time:                 \(BenchDream.ms(sequential.wall)) ms wall")
        let speedup = (sequential.wall / concurrent.wall)
        print("  speed-up: \(String(format: "%.1f", speedup))x")
    }

    private func measure(limit: Int) async throws -> (wall: Duration, peak: Int) {
        let directory = NSTemporaryDirectory() + "reverie-bench-threads-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var blocks: [JSONValue] = []
        for index in 1...specialists {
            blocks.append(["type": "tool_use", "name": "start_thread", "input": ["agent": "specialist", "task": .string("Write section \(index).")]])
        }
        let scenario: JSONValue = [
            "defaults": ["latency_ms": .int(Int64(latencyMs))],
            "rules": [
                ["system_contains": "You coordinate", "last_user_contains": "Write the document", "reply": .array(blocks)],
                ["system_contains": "You coordinate", "last_user_contains": "Started thread", "reply": [["type": "tool_use", "name": "wait_for_threads", "input": [:]]]],
                ["system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "The document is done."],
                ["system_contains": "You write", "last_user_contains": "Write section", "reply": [[
                    "type": "tool_use", "name": "write", "input": ["file_path": "section.txt", "content": "A section."],
                ]]],
                ["system_contains": "You write", "reply": "Section written."],
            ],
        ]
        let mock = MockLLMServer(scenario: try MockScenario(json: JSONCoding.data(scenario)))
        try await mock.start()
        var logger = Logger(label: "reverie.bench")
        logger.logLevel = .error
        let host = try ReverieHost(
            configuration: HostConfiguration(
                dataDirectory: directory,
                models: ModelCatalogConfiguration(
                    providers: ["mock": ProviderSettings(kind: .anthropic, baseURL: mock.baseURL ?? "", apiKey: "x", timeout: .seconds(60), retry: .none)],
                    routes: [ModelRoute(match: "*", provider: "mock")]),
                runtime: RuntimeConfiguration(dataDirectory: directory, maxConcurrentThreads: limit)),
            logger: logger)
        let platform = host.platform
        let specialist = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader([
            "name": "specialist", "model": "mock", "system": "You write one section.", "tools": [["type": "agent_toolset_20260401"]],
        ])))
        let lead = try await platform.agents.createAgent(try AgentCreateRequest(ObjectReader([
            "name": "lead", "model": "mock", "system": "You coordinate writers.", "multiagent": ["type": "coordinator", "agents": [.string(specialist.id)]],
        ])))
        let environment = try await platform.environments.createEnvironment(try EnvironmentRequest(ObjectReader(["name": "bench"]), creating: true))
        let clock = ContinuousClock()
        let started = clock.now
        let session = try await platform.sessions.createSession(try SessionCreateRequest(ObjectReader([
            "agent": .string(lead.id), "environment_id": .string(environment.id),
            "initial_events": [["type": "user.message", "content": [["type": "text", "text": "Write the document"]]]],
        ])))
        while true {
            let events = try await host.store.events(sessionID: session.id, after: 0, limit: Int.max)
            if events.contains(where: { $0.type == .sessionStatusIdle && $0.threadID == nil }) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let wall = clock.now - started
        let peak = await host.runner?.peakConcurrentThreads(sessionID: session.id) ?? 0
        await host.runner?.shutdown()
        await mock.stop()
        try await host.store.close()
        return (wall, peak)
    }
}
