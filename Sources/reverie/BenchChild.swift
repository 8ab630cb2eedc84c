import ArgumentParser
import Foundation
import ReverieExecution

/// A `reverie` process a benchmark starts from this same executable, once it has printed the
/// line that says where it listens.
struct BenchChild: Sendable {
    let process: ChildProcess
    /// The listening line, from `marker` on.
    let announcement: String

    /// Starts `reverie <arguments>` and waits for a line of its standard output containing
    /// `marker`.
    static func start(_ arguments: [String], environment: [String: String]? = nil, announcing marker: String) async throws -> BenchChild {
        let (lines, sink) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(64))
        let process = try ChildProcess.start(
            IsolationSettings.currentExecutable(), arguments: arguments, environment: environment, output: .lines(sink))
        var seen: [String] = []
        for await line in lines {
            if let range = line.range(of: marker) {
                return BenchChild(process: process, announcement: String(line[range.lowerBound...]).trimmingCharacters(in: .whitespaces))
            }
            seen = Array((seen + [line]).suffix(5))
        }
        process.signal(SIGKILL)
        throw ValidationError("reverie \(arguments.first ?? "") did not start: \(seen.joined(separator: "\n"))")
    }
}
