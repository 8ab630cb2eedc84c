import Foundation
import ReverieCore
import Synchronization

/// What the platform's webhook operations need from the server: the key that seals signing
/// secrets, the receiver address policy, and (when this process delivers) the dispatcher to wake.
public struct WebhookContext: Sendable {
    public let sealer: WebhookSecretSealer
    public let urlGuard: WebhookURLGuard
    public let dispatcher: WebhookDispatcher?

    public init(sealer: WebhookSecretSealer, urlGuard: WebhookURLGuard, dispatcher: WebhookDispatcher? = nil) {
        self.sealer = sealer
        self.urlGuard = urlGuard
        self.dispatcher = dispatcher
    }
}

/// Holds the attached webhook context; set once during start-up, read on every webhook request.
final class WebhookContextBox: Sendable {
    private let value = Mutex<WebhookContext?>(nil)

    var context: WebhookContext? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
