import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import ReverieCore

/// `reverie bench stream-stall`: a subscriber that opens a session's event stream and then
/// reads nothing, while many megabytes of events are appended. Prints how much the server's
/// memory grew and whether (and when) the stalled subscriber was cut off.
struct BenchStreamStall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream-stall", abstract: "Memory of the server while a stream subscriber stops reading.")

    @Option(help: "Megabytes of events to append while the subscriber is stalled.")
    var megabytes = 100

    @Option(name: .customLong("event-kib"), help: "Size of each event's text (KiB).")
    var eventKiB = 8

    @Option(name: .customLong("write-stall-seconds"), help: "The server's write-stall timeout.")
    var writeStallSeconds = 5.0

    func run() async throws {
        let stall = writeStallSeconds
        let harness = try await BenchHarness.start(dataDirectory: nil) { configuration in
            configuration.server.connections.writeStallTimeout = .milliseconds(Int64(stall * 1000))
        }
        let session = try await harness.makeSessions(1)[0]
        let baseline = MemoryFigures.current().rss
        let sampler = RSSSampler()
        let sampling = Task { await sampler.run() }

        // The subscriber: a small receive buffer, one request, then never a read.
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 4096)
            .connect(host: "127.0.0.1", port: harness.port).get()
        let request = "GET /v1/sessions/\(session)/events/stream HTTP/1.1\r\nHost: localhost\r\nx-api-key: \(harness.apiKey)\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        while harness.host.platform.log.hub.subscriberCount(sessionID: session) == 0 { try await Task.sleep(for: .milliseconds(10)) }

        let text = String(repeating: "x", count: eventKiB * 1024)
        let perRequest = max(1, 128 / max(1, eventKiB))
        let requests = max(1, megabytes * 1024 / (eventKiB * perRequest))
        let events = (0..<perRequest).map { _ in #"{"type":"user.message","content":[{"type":"text","text":"\#(text)"}]}"# }
        let body = #"{"events":["# + events.joined(separator: ",") + "]}"
        let start = ContinuousClock.now
        var cutOffAfter: Double?
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for _ in stride(from: worker, to: requests, by: 8) {
                        let (status, _) = try await harness.request(.POST, "/v1/sessions/\(session)/events", body: body)
                        guard status == 200 else { throw ValidationError("append failed: \(status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let appended = (ContinuousClock.now - start).seconds
        let deadline = ContinuousClock.now + .seconds(stall * 4 + 10)
        while ContinuousClock.now < deadline {
            if harness.host.platform.log.hub.subscriberCount(sessionID: session) == 0 {
                cutOffAfter = (ContinuousClock.now - start).seconds
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        sampling.cancel()
        let peak = await sampler.peak
        try? await channel.close().get()
        try await harness.stop()
        let total = Double(requests * perRequest * eventKiB) / 1024
        print("reverie bench stream-stall: \(String(format: "%.0f", total)) MB of events appended in \(String(format: "%.1f", appended)) s while one subscriber read nothing")
        print("server RSS: \(baseline >> 20) MB before, peak \(peak >> 20) MB (+\((peak - baseline) >> 20) MB)")
        if let cutOffAfter {
            print("the stalled subscriber was disconnected \(String(format: "%.1f", cutOffAfter)) s after appends began (write-stall timeout \(stall) s)")
        } else {
            print("the stalled subscriber was NOT disconnected")
            throw ExitCode(1)
        }
    }
}
