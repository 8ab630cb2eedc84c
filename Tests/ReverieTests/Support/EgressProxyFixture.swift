import Foundation
import Logging
import ReverieExecution

/// An origin on 127.0.0.2, an egress proxy on a temporary Unix socket, and a loopback forwarder on
/// 127.0.0.1 in front of it, all stopped when the test body returns.
struct EgressProxyFixture: Sendable {
    let origin: LoopbackOriginServer
    let proxy: EgressProxy
    let forwarder: LoopbackForwarder
    let client: RawProxyClient
    let resolver: FakeHostResolver
    let logs: CapturingLogHandler.Store
    let socketPath: String

    static let sessionID = "sesn_egress_test"

    /// The names the fake resolver knows; everything else does not resolve.
    static let names: [String: [String]] = [
        "origin.test": ["127.0.0.2"],
        "api.example.test": ["127.0.0.2"],
        "deep.api.example.test": ["127.0.0.2"],
        "example.test": ["127.0.0.2"],
        "loop.test": ["127.0.0.1"],
        "mixed.test": ["127.0.0.2", "127.0.0.1"],
        "metadata.test": ["169.254.169.254"],
    ]

    /// The authority of the origin under `name` (`name:port`).
    func authority(_ name: String = "origin.test") -> String { "\(name):\(origin.port)" }

    /// A fresh short socket path under /tmp (Unix socket paths are limited to about 100 bytes).
    static func temporarySocketPath() -> String {
        "/tmp/rvp-\(UUID().uuidString.prefix(8).lowercased()).sock"
    }

    static func with<Result: Sendable>(
        policy: EgressPolicy, connectTimeout: Duration = .seconds(5),
        _ body: (EgressProxyFixture) async throws -> Result
    ) async throws -> Result {
        let logs = CapturingLogHandler.Store()
        let resolver = FakeHostResolver(names)
        let socketPath = temporarySocketPath()
        let origin = try await LoopbackOriginServer()
        let proxy = EgressProxy(
            sessionID: sessionID, policy: policy, resolver: resolver, connectTimeout: connectTimeout,
            logger: Logger(label: "egress-test") { _ in CapturingLogHandler(store: logs) }
        )
        let forwarder = LoopbackForwarder(proxySocketPath: socketPath)
        do {
            try await proxy.start(socketPath: socketPath)
            let port = try await forwarder.start()
            let fixture = EgressProxyFixture(
                origin: origin, proxy: proxy, forwarder: forwarder, client: RawProxyClient(port: port), resolver: resolver,
                logs: logs, socketPath: socketPath
            )
            let result = try await body(fixture)
            await fixture.stop()
            return result
        } catch {
            await forwarder.stop()
            await proxy.stop()
            await origin.stop()
            throw error
        }
    }

    func stop() async {
        await forwarder.stop()
        await proxy.stop()
        await origin.stop()
    }
}
