import Foundation
import ReverieCore

/// What the platform's outbound operations need from the server: the sealer of server secrets
/// (webhook signing secrets and vault credentials), the address policy for outbound calls
/// (webhook receivers, credential probes), and (when this process delivers) the dispatcher to wake.
public struct WebhookContext: Sendable {
    public let sealer: SecretSealer
    public let urlGuard: WebhookURLGuard
    public let dispatcher: WebhookDispatcher?

    public init(sealer: SecretSealer, urlGuard: WebhookURLGuard, dispatcher: WebhookDispatcher? = nil) {
        self.sealer = sealer
        self.urlGuard = urlGuard
        self.dispatcher = dispatcher
    }
}

extension WebhookContext {
    /// Settings for an in-process platform that keeps no webhook endpoint across runs
    /// (benchmarks and tests): a fresh random sealing key, the default address policy, and no
    /// delivery.
    public static func ephemeral() -> WebhookContext {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        guard let sealer = try? SecretSealer(key: key) else { preconditionFailure("a 32-byte key is always accepted") }
        return WebhookContext(sealer: sealer, urlGuard: WebhookURLGuard(policy: WebhookAddressPolicy()))
    }
}
