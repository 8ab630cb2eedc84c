import Foundation
import Hummingbird
import Logging
import ReverieCore
import ReverieRuntime
import ReverieStore
import ServiceLifecycle
import UnixSignals

/// Everything a running Reverie server needs, configured.
public struct HostConfiguration: Sendable {
    /// Where the database and session sandboxes live (default `./.reverie`).
    public var dataDirectory: String
    public var server: ServerConfiguration
    public var webhooks: WebhookConfiguration

    public init(dataDirectory: String = ".reverie", server: ServerConfiguration = ServerConfiguration(), webhooks: WebhookConfiguration = WebhookConfiguration()) {
        self.dataDirectory = dataDirectory
        self.server = server
        self.webhooks = webhooks
    }

    /// The SQLite database file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("reverie.sqlite") }
}

/// Assembles the store, platform, runtime and HTTP server, and runs them as one
/// `ServiceGroup` that shuts down gracefully on SIGINT/SIGTERM: the server stops
/// accepting requests, in-flight requests and writes finish, then the store closes.
public final class ReverieHost: Sendable {
    public let configuration: HostConfiguration
    public let platform: Platform
    public let logger: Logger
    /// Delivers webhooks (nil when delivery is off in this process).
    public let webhookDispatcher: WebhookDispatcher?

    public init(configuration: HostConfiguration, logger: Logger = Logger(label: "reverie")) throws {
        self.configuration = configuration
        self.logger = logger
        let store = try SQLiteStore(path: configuration.databasePath, logger: logger)
        self.platform = Platform(store: store, logger: logger)
        let sealer = try WebhookSecretSealer(key: try WebhookKeyFile.load(directory: configuration.dataDirectory))
        self.webhookDispatcher = configuration.webhooks.deliveryEnabled
            ? WebhookDispatcher(store: store, configuration: configuration.webhooks, sealer: sealer, logger: logger) : nil
        platform.attachWebhooks(
            WebhookContext(sealer: sealer, urlGuard: WebhookURLGuard(policy: configuration.webhooks.addressPolicy), dispatcher: webhookDispatcher))
    }

    /// Runs until a shutdown signal (or until the surrounding task is cancelled).
    /// `onListening` receives the bound port once the server accepts connections.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = ReverieServer.application(
            platform: platform, configuration: configuration.server, logger: logger, onListening: onListening)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application)] + (webhookDispatcher.map { [.init(service: $0)] } ?? []),
                gracefulShutdownSignals: signals, logger: logger))
        do {
            try await group.run()
        } catch {
            platform.hub.closeAll()
            try? await platform.store.close()
            throw error
        }
        platform.hub.closeAll()
        try await platform.store.close()
    }
}
