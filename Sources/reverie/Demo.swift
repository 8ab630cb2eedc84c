import ArgumentParser
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import ReverieServer
import ServiceLifecycle

/// `reverie demo`: the whole loop in one command — sessions that fail for a learnable reason,
/// a dream over them, promotion, and the same tasks again.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch an agent get better between sessions: fail, dream, promote, succeed.",
        discussion: """
            Starts an embedded server (in a temporary directory) and, unless --model is given, the \
            built-in mock model scripted by the scenario's mock-model.json, so no API key is needed. \
            The agent answers the scenario's tasks, each graded by an outcome; the user corrects it \
            where it failed; a dream reads those sessions and writes a lesson; the lesson is promoted \
            into the agent's memory store; the same tasks run again. The last line compares pass rates. \
            The scenario lives in examples/demo (see its README) and can be changed.
            """)

    @Option(name: .customLong("scenario"), help: "The scenario directory (demo.json, mock-model.json).")
    var scenario: String?

    @Option(name: .customLong("model"), help: "Run on this real model instead of the mock (providers from ANTHROPIC_API_KEY etc., see docs/models.md).")
    var model: String?

    @Flag(name: .customLong("keep"), help: "Keep the temporary data directory and print its path.")
    var keep = false

    @Option(name: .customLong("sandbox"), help: "bubblewrap, none, or auto (bubblewrap when it works here, else none).")
    var sandbox = "auto"

    func validate() throws {
        guard ["auto", "bubblewrap", "none"].contains(sandbox) else { throw ValidationError("--sandbox must be auto, bubblewrap or none") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let directory = try Self.scenarioDirectory(scenario)
        let plan = try DemoPlan(directory: directory)
        var logger = Logger(label: "reverie.demo")
        logger.logLevel = .error

        let mock: MockLLMServer?
        let models: ModelCatalogConfiguration
        let modelID: String
        if let model {
            do {
                models = try ModelCatalogConfiguration.fromEnvironment()
            } catch let error as ModelError {
                throw ValidationError(error.message)
            }
            modelID = model
            mock = nil
        } else {
            let scenario = try MockScenario(json: try Data(contentsOf: URL(fileURLWithPath: directory + "/mock-model.json")))
            let server = MockLLMServer(scenario: scenario, logger: logger)
            _ = try await server.start()
            models = ModelCatalogConfiguration(
                providers: ["demo": ProviderSettings(kind: .anthropic, baseURL: server.baseURL, apiKey: "demo", timeout: .seconds(30))],
                routes: [ModelRoute(match: "*", provider: "demo")])
            modelID = "reverie-demo-mock"
            mock = server
        }

        let dataDirectory = NSTemporaryDirectory() + "reverie-demo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let apiKey = "demo-" + UUID().uuidString
        var configuration = HostConfiguration(
            dataDirectory: dataDirectory, server: ServerConfiguration(port: 0, staticAPIKeys: [apiKey]), models: models,
            webhooks: WebhookConfiguration(deliveryEnabled: false))
        configuration.isolation = try await isolation(logger: logger)
        let host = try ReverieHost(configuration: configuration, logger: logger)
        let port = PortBox()
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: ReverieHostService(host: host) { await port.set($0) })], logger: logger))
        let serverTask = Task { try await group.run() }
        defer {
            if !keep { try? FileManager.default.removeItem(atPath: dataDirectory) }
        }
        var outcome: Result<(before: Int, after: Int), any Error>
        do {
            let bound = try await port.wait()
            var options = ServerOptions()
            options.url = "http://127.0.0.1:\(bound)"
            options.apiKey = apiKey
            print("Reverie demo — \(model.map { "model \($0)" } ?? "the built-in mock model (no API key)"), scenario \(directory)")
            print("  server http://127.0.0.1:\(bound), data in \(dataDirectory)\(keep ? " (kept)" : "")")
            let run = DemoRun(client: APIClient(options: options), plan: plan, model: modelID)
            outcome = .success(try await run.perform())
        } catch {
            outcome = .failure(error)
        }
        // Stopped as SIGTERM stops a server: gracefully, then waited for.
        await group.triggerGracefulShutdown()
        _ = await serverTask.result
        await mock?.stop()
        let (before, after) = try outcome.get()
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        print("  (\(Int(seconds)) s)")
        print("pass rate: before \(before)/\(plan.tasks.count) → after \(after)/\(plan.tasks.count)")
        if after <= before { throw ExitCode(1) }
    }

    /// Where the tools run: bubblewrap when asked or when it works here; otherwise none, said aloud.
    private func isolation(logger: Logger) async throws -> IsolationSettings {
        var settings = IsolationSettings(mode: sandbox == "none" ? .none : .bubblewrap)
        if settings.mode == .none { return settings }
        if let problem = await SandboxProbe.check(settings, logger: logger) {
            guard sandbox == "auto" else { throw ValidationError("the sandbox cannot be made here: \(problem)") }
            print("  note: bubblewrap is not usable here (\(problem)); the demo's scripted tools run unsandboxed")
            settings.mode = .none
        }
        return settings
    }

    /// The scenario directory: as given, else `examples/demo` here or beside the executable's checkout.
    static func scenarioDirectory(_ given: String?) throws -> String {
        let manager = FileManager.default
        if let given {
            guard manager.fileExists(atPath: given + "/demo.json") else { throw ValidationError("\(given) has no demo.json") }
            return given
        }
        var candidates = ["examples/demo"]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(url.appendingPathComponent("examples/demo").path)
            url = url.deletingLastPathComponent()
        }
        guard let found = candidates.first(where: { manager.fileExists(atPath: $0 + "/demo.json") }) else {
            throw ValidationError("cannot find examples/demo: run from the repository root or pass --scenario DIR")
        }
        return found
    }
}

/// The port the embedded server bound, once it did.
actor PortBox {
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    func set(_ port: Int) {
        self.port = port
        for waiter in waiters { waiter.resume(returning: port) }
        waiters = []
    }

    func wait() async throws -> Int {
        if let port { return port }
        return await withCheckedContinuation { waiters.append($0) }
    }
}
