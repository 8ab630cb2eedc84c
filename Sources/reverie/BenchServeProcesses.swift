import ArgumentParser
import AsyncHTTPClient
import Foundation

/// `reverie serve --no-runtime` processes sharing one PostgreSQL database, started by a
/// benchmark from this same executable, each on a free port with a data directory of its own.
struct BenchServeProcesses: BenchTarget {
    let ports: [Int]
    let client: HTTPClient
    let apiKey = "bench-key"
    let processIDs: [Int32]
    let directory: String

    /// Starts `count` processes on `database` and waits until each listens.
    static func start(database: String, count: Int, extraArguments: [String] = []) async throws -> BenchServeProcesses {
        let directory = NSTemporaryDirectory() + "reverie-bench-" + UUID().uuidString
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var ports: [Int] = []
        var processIDs: [Int32] = []
        for index in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = [
                "serve", "--port", "0", "--no-runtime", "--database", database, "--data-dir", "\(directory)/\(index)",
                "--max-connections-per-address", "0", "--log-level", "error",
            ] + extraArguments
            var environment = ProcessInfo.processInfo.environment
            environment["REVERIE_API_KEY"] = "bench-key"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            processIDs.append(process.processIdentifier)
            ports.append(try await Self.listeningPort(output.fileHandleForReading))
        }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 2048
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        return BenchServeProcesses(ports: ports, client: client, processIDs: processIDs, directory: directory)
    }

    /// Reads `reverie listening on http://…:<port>` from a child's standard output.
    private static func listeningPort(_ handle: FileHandle) async throws -> Int {
        try await Task.detached {
            var text = ""
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                if let range = text.range(of: "listening on http://127.0.0.1:") {
                    let rest = text[range.upperBound...]
                    if rest.contains("\n"), let port = Int(rest.prefix { $0.isNumber }) { return port }
                }
            }
            throw ValidationError("reverie serve did not start: \(text)")
        }.value
    }

    /// Stops the client and every process (SIGTERM), then removes their data directories.
    func stop() async throws {
        try await client.shutdown()
        for id in processIDs { kill(id, SIGTERM) }
        for id in processIDs {
            var status: Int32 = 0
            waitpid(id, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
