import ArgumentParser
import Foundation
import Logging
import ReverieMockLLM

/// `reverie mock-llm`: a scripted model server for tests and benchmarks.
struct MockLLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-llm",
        abstract: "Run a mock model server (Anthropic Messages and OpenAI chat completions) that answers from a scenario file.",
        discussion: """
            Serves POST /v1/messages (streamed and not) and POST /v1/chat/completions. Replies come from \
            the scenario file's rules (see docs/mock-llm.md); without one every request gets a short text reply. \
            GET /_mock/requests lists the requests received, DELETE /_mock/requests clears them, \
            PUT /_mock/scenario replaces the scenario. Point Reverie at it with \
            ANTHROPIC_BASE_URL=http://HOST:PORT or OPENAI_BASE_URL=http://HOST:PORT/v1.
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = 9000

    @Option(name: .customLong("scenario"), help: "Scenario file (JSON).")
    var scenarioPath: String?

    @Option(name: .customLong("latency-ms"), help: "Default latency of every reply in milliseconds (overrides the scenario's defaults.latency_ms).")
    var latencyMs: Int?

    @Option(name: .customLong("record-limit"), help: "Requests kept for GET /_mock/requests.")
    var recordLimit = 10_000

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        var logger = Logger(label: "reverie.mock-llm")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        var scenario = MockScenario()
        if let path = scenarioPath {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw CommandFailure("cannot read the scenario file \(path): \(error.localizedDescription)")
            }
            do {
                scenario = try MockScenario(json: data)
            } catch let error as MockScenarioError {
                throw ValidationError("\(path): \(error.message)")
            }
        }
        if let latencyMs {
            guard latencyMs >= 0 else { throw ValidationError("--latency-ms must not be negative") }
            scenario.defaults.latencyMs = latencyMs
        }
        let server = MockLLMServer(
            scenario: scenario, configuration: MockLLMConfiguration(host: host, port: port, recordLimit: max(1, recordLimit)), logger: logger)
        let address = host
        try await server.run { port in
            FileHandle.standardOutput.write(Data("mock-llm listening on http://\(address):\(port)\n".utf8))
        }
    }
}
