import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieStore
import Synchronization

/// `reverie bench events`: acknowledged event appends per second, and SSE delivery latency.
struct BenchEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Event appends per second (one session, 100 sessions) and SSE delivery latency with many subscribers.")

    @Option(help: "Seconds each append phase runs.")
    var seconds = 5.0

    @Option(help: "Concurrent HTTP clients sending events.")
    var clients = 64

    @Option(name: .customLong("events-per-request"), help: "Events in each POST /v1/sessions/{id}/events (the API takes a list).")
    var eventsPerRequest = 1

    @Option(help: "Concurrent SSE subscribers for the latency phase.")
    var subscribers = 100

    @Option(help: "Events sent during the latency phase.")
    var latencyEvents = 500

    @Option(help: "Events per second sent during the latency phase.")
    var latencyRate = 100.0

    @Option(name: .customLong("data-dir"), help: "Data directory (default: a fresh temporary one).")
    var dataDirectory: String?

    @Option(name: .customLong("session-counts"), help: "Append phases to run, by number of sessions the events are spread over.")
    var sessionCounts = "1,100"

    @Option(name: .customLong("durability"), help: "fsync (acknowledged means fsynced, the default) or process.")
    var durability = "fsync"

    @Option(name: .customLong("database"), help: "A postgres:// URL: run the server(s) as `reverie serve` processes on this database instead of in-process on SQLite.")
    var database: String?

    @Option(help: "With --database: how many `reverie serve` processes share it. Clients spread over all of them; SSE subscribers read from every process but the one events are sent to.")
    var processes = 1

    func validate() throws {
        guard Durability(rawValue: durability) != nil else { throw ValidationError("--durability must be fsync or process") }
        guard processes >= 1 else { throw ValidationError("--processes must be at least 1") }
        if processes > 1, database == nil { throw ValidationError("--processes needs --database") }
    }

    func run() async throws {
        let counts = sessionCounts.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 > 0 }
        let mode = Durability(rawValue: durability) ?? .fsync
        if let database {
            let servers = try await BenchServeProcesses.start(database: database, count: processes)
            print("reverie bench events: \(clients) keep-alive connections over \(processes) `reverie serve` process(es) on PostgreSQL, \(formatted(seconds))s per phase, \(max(1, eventsPerRequest)) event(s) per request")
            do {
                try await run(on: servers, counts: counts)
            } catch {
                try? await servers.stop()
                throw error
            }
            return try await servers.stop()
        }
        let harness = try await BenchHarness.start(dataDirectory: dataDirectory) { $0.durability = mode }
        print("reverie bench events: \(clients) keep-alive connections, \(formatted(seconds))s per phase, \(max(1, eventsPerRequest)) event(s) per request, durability \(mode.rawValue)")
        try await run(on: harness, counts: counts)
        try await harness.stop()
    }

    private func run(on harness: some BenchTarget, counts: [Int]) async throws {
        for count in counts {
            let sessions = try await harness.makeSessions(count)
            let steal = CPUSteal()
            let load = try await appendPhase(harness, sessions: sessions)
            let label = "append, \(count) session\(count == 1 ? "" : "s"):".padding(toLength: 23, withPad: " ", startingAt: 0)
            let events = load.latencies.count * max(1, eventsPerRequest)
            print("\(label) \(formatted(Double(events) / load.seconds, 0)) acknowledged events/s (\(events) events, p50 \(formatted(load.p50, 2)) ms, p99 \(formatted(load.p99, 2)) ms per request, \(load.errors) errors; \(steal.note))")
        }
        guard subscribers > 0 else { return }
        let latency = try await latencyPhase(harness)
        let across = harness.ports.count > 1 ? " (on other processes than the sender's)" : ""
        print("SSE, \(subscribers) subscribers\(across):   delivery latency p50 \(formatted(latency.p50, 2)) ms, p99 \(formatted(latency.p99, 2)) ms, max \(formatted(latency.max, 2)) ms (\(latency.deliveries) deliveries, \(latency.missing) missing)")
    }

    func appendPhase(_ harness: some BenchTarget, sessions: [String]) async throws -> BenchLoadConnection.Load {
        let deadline = ContinuousClock.now + .seconds(seconds)
        let sent = ReadyCounter()
        let batch = max(1, eventsPerRequest)
        return try await BenchLoadConnection.drive(connections: clients, ports: harness.ports, apiKey: harness.apiKey) { send in
            guard ContinuousClock.now < deadline else { return nil }
            let index = sent.value.add(1, ordering: .relaxed).oldValue
            let session = sessions[index % sessions.count]
            let events = (0..<batch).map { #"{"type":"user.message","content":[{"type":"text","text":"bench event \#(index).\#($0)"}]}"# }
            return try await send(.POST, "/v1/sessions/\(session)/events", #"{"events":["# + events.joined(separator: ",") + "]}").status == 200
        }
    }

    struct LatencyResult {
        var p50: Double
        var p99: Double
        var max: Double
        var deliveries: Int
        var missing: Int
    }

    /// Subscribers read the stream; each event carries its send time (wall clock, same process).
    func latencyPhase(_ harness: some BenchTarget) async throws -> LatencyResult {
        let session = try await harness.makeSessions(1)[0]
        let ready = ReadyCounter()
        let expected = latencyEvents
        let collected = try await withThrowingTaskGroup(of: [Double].self) { group in
            // With several processes, subscribers read from every process but the first (where events are sent).
            let readers = harness.ports.count > 1 ? Array(harness.ports.dropFirst()) : harness.ports
            for index in 0..<subscribers {
                let port = readers[index % readers.count]
                group.addTask {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/sessions/\(session)/events/stream")
                    request.headers.add(name: "x-api-key", value: harness.apiKey)
                    let response = try await harness.client.execute(request, timeout: .seconds(600))
                    ready.value.add(1, ordering: .relaxed)
                    var latencies: [Double] = []
                    var pending = ""
                    for try await chunk in response.body {
                        let now = Date().timeIntervalSince1970
                        pending += String(buffer: chunk)
                        while let range = pending.range(of: "\n\n") {
                            let frame = pending[..<range.lowerBound]
                            pending.removeSubrange(..<range.upperBound)
                            guard frame.hasPrefix("event: user.message"), let marker = frame.range(of: "sent@") else { continue }
                            let digits = frame[marker.upperBound...].prefix { $0.isNumber || $0 == "." }
                            if let sent = Double(digits) { latencies.append((now - sent) * 1000) }
                        }
                        if latencies.count >= expected { break }
                    }
                    return latencies
                }
            }
            while ready.value.load(ordering: .relaxed) < subscribers { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(200))
            let interval = 1.0 / latencyRate
            for index in 0..<expected {
                let stamp = String(format: "%.6f", Date().timeIntervalSince1970)
                let body = #"{"events":[{"type":"user.message","content":[{"type":"text","text":"sent@\#(stamp) #\#(index)"}]}]}"#
                _ = try await harness.request(.POST, "/v1/sessions/\(session)/events", body: body)
                try await Task.sleep(for: .seconds(interval))
            }
            var all: [Double] = []
            for try await latencies in group { all += latencies }
            return all
        }
        let sorted = collected.sorted()
        return LatencyResult(
            p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.last ?? .nan, deliveries: sorted.count,
            missing: subscribers * expected - sorted.count)
    }
}

/// Counts subscribers that are connected.
final class ReadyCounter: Sendable {
    let value = Atomic<Int>(0)
}
