import ArgumentParser
import AsyncHTTPClient
import Foundation
import ReverieExecution

/// `reverie serve --no-runtime` processes sharing one PostgreSQL database, started by a
/// benchmark from this same executable, each on a free port with a data directory of its own.
struct BenchServeProcesses: BenchTarget {
    let ports: [Int]
    let client: HTTPClient
    let apiKey = "bench-key"
    let processes: [ChildProcess]
    let directory: String

    /// Starts `count` processes on `database` and waits until each listens.
    static func start(database: String, count: Int, extraArguments: [String] = []) async throws -> BenchServeProcesses {
        let directory = NSTemporaryDirectory() + "reverie-bench-" + UUID().uuidString
        var ports: [Int] = []
        var processes: [ChildProcess] = []
        var environment = ProcessInfo.processInfo.environment
        environment["REVERIE_API_KEY"] = "bench-key"
        for index in 0..<count {
            let child = try await BenchChild.start(
                [
                    "serve", "--port", "0", "--no-runtime", "--database", database, "--data-dir", "\(directory)/\(index)",
                    "--max-connections-per-address", "0", "--log-level", "error",
                ] + extraArguments, environment: environment, announcing: "listening on http://127.0.0.1:")
            processes.append(child.process)
            let port = child.announcement.dropFirst("listening on http://127.0.0.1:".count).prefix { $0.isNumber }
            guard let port = Int(port) else { throw ValidationError("reverie serve said: \(child.announcement)") }
            ports.append(port)
        }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2048
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        return BenchServeProcesses(ports: ports, client: client, processes: processes, directory: directory)
    }

    /// Stops the client and every process (SIGTERM), then removes their data directories.
    func stop() async throws {
        try await client.shutdown()
        for process in processes { process.signal(SIGTERM) }
        for process in processes { _ = await process.termination() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
