import ArgumentParser
import Foundation
import Logging
import ReverieConsole
import ReverieCore
import ReverieExecution
import ReverieModels
import ReverieRuntime
import ReverieServer
import ReverieStore
import ReverieStorePostgres

/// `reverie serve`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the API server.",
        discussion: """
            Requests must carry an API key (x-api-key or Authorization: Bearer). Keys come from \
            REVERIE_API_KEY (comma-separated for several) and from `reverie keys create`. \
            SIGINT or SIGTERM shuts down gracefully: in-flight requests and writes finish first; \
            running sessions resume at the next start.

            Agents' models are served by the providers the environment configures: \
            ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL (Anthropic Messages API), OPENAI_BASE_URL / \
            OPENAI_API_KEY (any OpenAI-compatible server), or a REVERIE_MODELS JSON file with \
            providers and routes (see docs/models.md).
            """)

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = 8080

    @Option(name: .customLong("data-dir"), help: "Directory for the database and session sandboxes.")
    var dataDirectory = ProcessInfo.processInfo.environment["REVERIE_DATA_DIR"] ?? ".reverie"

    @Option(name: .customLong("database"), help: "A postgres://user@host:port/database URL to share one PostgreSQL database between processes (default: REVERIE_DATABASE_URL, else SQLite in the data directory).")
    var databaseURL = ProcessInfo.processInfo.environment["REVERIE_DATABASE_URL"] ?? ""

    @Option(name: .customLong("lease-ttl"), help: "With --database: seconds a process keeps its sessions after its last heartbeat; another process takes them over after that.")
    var leaseTTLSeconds = 6.0

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (bytes).")
    var maxBodyBytes = 8 * 1024 * 1024

    @Option(name: .customLong("max-upload-bytes"), help: "Largest file accepted by POST /v1/files (bytes; streamed to disk).")
    var maxUploadBytes = 500 * 1024 * 1024

    @Option(name: .customLong("heartbeat-seconds"), help: "Seconds between heartbeats on event streams.")
    var heartbeatSeconds = 15.0

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(name: .customLong("log-format"), help: "text (the default) or json (one JSON object per line, with request and session ids).")
    var logFormat = "text"

    @Flag(name: .customLong("no-runtime"), help: "Serve the API without running agents: events are stored, sessions stay idle.")
    var noRuntime = false

    @Option(name: .customLong("max-tokens"), help: "max_tokens of each model call.")
    var maxTokens = 8192

    @Option(
        name: .customLong("sandbox-idle-seconds"),
        help: "Seconds a session's sandbox (its bash shell and what it started) stays open after the session stops working; 0 keeps it while the server runs. Files always stay.")
    var sandboxIdleSeconds = 600.0

    @Option(name: .customLong("dream-duplicate-threshold"), help: "Similarity (0–1) at which a dream merges two memories as duplicates.")
    var dreamDuplicateThreshold = CurationRules().duplicateThreshold

    @Option(name: .customLong("dream-max-delete-share"), help: "Largest share (0–1) of a store one dream may delete; more is refused as a collapse.")
    var dreamMaxDeleteShare = CurationRules().maxDeleteShare

    @Option(name: .customLong("max-concurrent-dreams"), help: "Dreams running at once; more wait as pending.")
    var maxConcurrentDreams = DreamSettings().maxConcurrentDreams

    @Option(
        name: .customLong("sandbox"),
        help: "Where agents' tools run: bubblewrap (a sandbox per session, the default) or none (in the server's own process and user: unsafe, for development only).")
    var sandbox = "bubblewrap"

    @Option(
        name: .customLong("egress-trust-roots"),
        help: "A PEM file of CA certificates the egress proxy trusts, besides the system's, when it opens HTTPS to a credential's host.")
    var egressTrustRoots: String?

    @Option(
        name: .customLong("egress-allow-network"),
        help: "A CIDR range (e.g. 10.20.0.0/16) sessions' egress proxies may reach although it is private or loopback; repeat for several. Hosts still need the environment's network policy.")
    var egressAllowNetworks: [String] = []

    @Option(name: .customLong("sandbox-memory-mb"), help: "Address space of one process in a session's sandbox (MiB).")
    var sandboxMemoryMB = SandboxLimits().memoryBytes >> 20

    @Option(name: .customLong("sandbox-processes"), help: "Processes and threads a session's sandbox may run at once.")
    var sandboxProcesses = SandboxLimits().processes

    @Option(name: .customLong("sandbox-cpu-seconds"), help: "CPU seconds one process in a session's sandbox may use.")
    var sandboxCPUSeconds = SandboxLimits().cpuSeconds

    @Option(name: .customLong("sandbox-file-mb"), help: "Largest file a process in a session's sandbox may write (MiB).")
    var sandboxFileMB = SandboxLimits().fileBytes >> 20

    @Option(name: .customLong("sandbox-tmp-mb"), help: "Size of a session sandbox's private /tmp (MiB, held in memory).")
    var sandboxTmpMB = SandboxLimits().tmpBytes >> 20

    @Option(name: .customLong("durability"), help: "fsync (an acknowledged write has been fsynced; the default) or process (survives kill -9, not a power cut).")
    var durability = "fsync"

    @Option(name: .customLong("max-model-calls-per-turn"), help: "Model calls one turn may make before the session stops with an error.")
    var maxModelCallsPerTurn = 100

    @Option(name: .customLong("max-failed-resumptions"), help: "A session whose resumption after a restart failed or crashed the server this many times in a row is stopped instead of resumed again.")
    var maxFailedResumptions = 3

    @Option(name: .customLong("max-concurrent-threads"), help: "Child threads of one session that run at once; more wait.")
    var maxConcurrentThreads = 25

    @Option(name: .customLong("bash-output-characters"), help: "Characters of one bash result kept inline (its first third and last two thirds); the full output is saved to a file in the workspace.")
    var bashOutputCharacters = BashTool.Configuration().outputLimits.maxCharacters

    @Option(name: .customLong("head-timeout-seconds"), help: "A new connection must send a complete request head within this time.")
    var headTimeoutSeconds = 20.0

    @Option(name: .customLong("keep-alive-seconds"), help: "An idle kept-alive connection is closed after this time.")
    var keepAliveSeconds = 75.0

    @Option(name: .customLong("body-timeout-seconds"), help: "Longest pause between parts of a request body.")
    var bodyTimeoutSeconds = 30.0

    @Option(name: .customLong("write-stall-seconds"), help: "A client that stops reading a response (a stream) for this long is disconnected.")
    var writeStallSeconds = 60.0

    @Option(name: .customLong("max-connections-per-address"), help: "Open connections one client address may hold (0: no cap; behind a proxy every client shares its address).")
    var maxConnectionsPerAddress = 512

    @Option(name: .customLong("stream-buffer-events"), help: "Live events buffered per stream subscriber before the oldest are dropped (and re-read from the store).")
    var streamBufferEvents = 64

    @Option(name: .customLong("stream-max-lag-events"), help: "A stream subscriber this many events behind the log is disconnected; it resumes with Last-Event-ID.")
    var streamMaxLagEvents = 10_000

    @Option(name: .customLong("console-session-ttl"), help: "Seconds a web console sign-in lasts without being used.")
    var consoleSessionTTL = 8 * 3600

    @Flag(name: .customLong("console-secure-cookie"), help: "Always mark the web console's session cookie Secure (it is anyway behind a proxy that sends X-Forwarded-Proto: https).")
    var consoleSecureCookie = false

    @Flag(name: .customLong("no-console"), help: "Do not serve the web console at /console.")
    var noConsole = false

    func validate() throws {
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        guard Durability(rawValue: durability) != nil else { throw ValidationError("--durability must be fsync or process") }
        if !databaseURL.isEmpty, !PostgresURL.isPostgres(databaseURL) {
            throw ValidationError("--database must be a postgres://user@host:port/database URL")
        }
        guard leaseTTLSeconds >= 1, leaseTTLSeconds.isFinite else { throw ValidationError("--lease-ttl must be at least 1") }
        for (name, value) in [("--head-timeout-seconds", headTimeoutSeconds), ("--keep-alive-seconds", keepAliveSeconds),
                              ("--body-timeout-seconds", bodyTimeoutSeconds), ("--write-stall-seconds", writeStallSeconds)]
        where !(value > 0 && value.isFinite) {
            throw ValidationError("\(name) must be more than 0")
        }
        for (name, value) in [("--max-model-calls-per-turn", maxModelCallsPerTurn), ("--max-failed-resumptions", maxFailedResumptions), ("--max-concurrent-threads", maxConcurrentThreads),
                              ("--bash-output-characters", bashOutputCharacters), ("--stream-buffer-events", streamBufferEvents),
                              ("--stream-max-lag-events", streamMaxLagEvents)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        guard consoleSessionTTL >= 60 else { throw ValidationError("--console-session-ttl must be at least 60 seconds") }
        guard maxConnectionsPerAddress >= 0 else { throw ValidationError("--max-connections-per-address must be 0 or more") }
        guard ["bubblewrap", "none"].contains(sandbox) else { throw ValidationError("--sandbox must be bubblewrap or none") }
        for (name, value) in [("--sandbox-memory-mb", sandboxMemoryMB), ("--sandbox-processes", sandboxProcesses), ("--sandbox-cpu-seconds", sandboxCPUSeconds),
                              ("--sandbox-file-mb", sandboxFileMB), ("--sandbox-tmp-mb", sandboxTmpMB), ("--work-lease-ttl", workLeaseTTLSeconds)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        for network in egressAllowNetworks where CIDRRange(network) == nil {
            throw ValidationError("--egress-allow-network: '\(network)' is not a CIDR range such as 10.0.0.0/8 or fd00::/8")
        }
        guard (0...1).contains(dreamDuplicateThreshold) else { throw ValidationError("--dream-duplicate-threshold must be between 0 and 1") }
        guard (0...1).contains(dreamMaxDeleteShare) else { throw ValidationError("--dream-max-delete-share must be between 0 and 1") }
        guard maxConcurrentDreams >= 1 else { throw ValidationError("--max-concurrent-dreams must be at least 1") }
        guard sandboxIdleSeconds >= 0, sandboxIdleSeconds.isFinite else { throw ValidationError("--sandbox-idle-seconds must be 0 or more") }
    }
    @Flag(name: .customLong("webhooks-allow-private"), help: "Accept webhook receivers on loopback, private and link-local addresses (and plain http).")
    var webhooksAllowPrivate = false

    @Option(name: .customLong("webhooks-timeout-seconds"), help: "Time limit of one webhook delivery attempt.")
    var webhooksTimeoutSeconds = 10.0

    @Flag(name: .customLong("no-webhook-delivery"), help: "Do not deliver webhooks from this process; events wait in the outbox.")
    var noWebhookDelivery = false

    @Option(name: .customLong("webhooks-retry-base-seconds"), help: "Ceiling of the first webhook retry's delay; each later one is 3 times longer.")
    var webhooksRetryBaseSeconds = WebhookRetryPolicy.standard.baseDelay

    @Option(name: .customLong("webhooks-retry-max-seconds"), help: "Largest delay between two webhook attempts.")
    var webhooksRetryMaxSeconds = WebhookRetryPolicy.standard.maxDelay

    @Option(name: .customLong("work-lease-ttl"), help: "Seconds a self_hosted environment's worker holds a work item without a heartbeat before it returns to the queue.")
    var workLeaseTTLSeconds = 60

    @Option(name: .customLong("schedule-clock-file"), help: "For tests: read deployments' schedule time from this file (an RFC 3339 timestamp) instead of the system clock.")
    var scheduleClockFile: String?

    func run() async throws {
        if logFormat == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
        var logger = Logger(label: "reverie")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let staticKeys = (ProcessInfo.processInfo.environment["REVERIE_API_KEY"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let models: ModelCatalogConfiguration?
        do {
            models = noRuntime ? nil : try ModelCatalogConfiguration.fromEnvironment()
        } catch let error as ModelError {
            throw ValidationError(error.message)
        }
        let configuration = HostConfiguration(
            dataDirectory: dataDirectory,
            server: serverConfiguration(staticKeys: staticKeys),
            models: models,
            runtime: RuntimeConfiguration(
                dataDirectory: dataDirectory, maxTokens: maxTokens, maxModelCallsPerTurn: maxModelCallsPerTurn,
                maxConcurrentThreads: maxConcurrentThreads,
                sandboxIdleTimeout: sandboxIdleSeconds > 0 ? .milliseconds(Int64(sandboxIdleSeconds * 1000)) : nil),
            tools: toolsConfiguration(),
            dreams: DreamSettings(
                rules: CurationRules(duplicateThreshold: dreamDuplicateThreshold, maxDeleteShare: dreamMaxDeleteShare),
                maxConcurrentDreams: maxConcurrentDreams),
            webhooks: WebhookConfiguration(
                deliveryEnabled: !noWebhookDelivery, addressPolicy: WebhookAddressPolicy(allowPrivateNetworks: webhooksAllowPrivate),
                requestTimeout: .milliseconds(Int64(max(0.1, webhooksTimeoutSeconds) * 1000)),
                retry: WebhookRetryPolicy(baseDelay: webhooksRetryBaseSeconds, maxDelay: webhooksRetryMaxSeconds)))
        var isolation = IsolationSettings(
            mode: sandbox == "none" ? .none : .bubblewrap,
            limits: SandboxLimits(
                cpuSeconds: sandboxCPUSeconds, memoryBytes: sandboxMemoryMB << 20, processes: sandboxProcesses, fileBytes: sandboxFileMB << 20,
                tmpBytes: sandboxTmpMB << 20))
        isolation.egressTrustRootsFile = egressTrustRoots
        isolation.egressAllowedNetworks = egressAllowNetworks
        if isolation.mode == .none {
            logger.warning("--sandbox none: agents' tools run in this process, on the host, as this server's user. Unsafe: for development only.")
        } else if !noRuntime, let problem = await SandboxProbe.check(isolation, logger: logger) {
            logger.error("""
                the sandbox cannot be made here (\(problem)): built-in tools will be refused. Install bubblewrap \
                (Debian/Ubuntu: apt-get install bubblewrap) and restart, or pass --sandbox none (unsafe, development only).
                """)
            isolation.mode = .unavailable(problem)
        }
        var hostConfiguration = configuration
        hostConfiguration.isolation = isolation
        hostConfiguration.runtime.maxFailedResumptions = maxFailedResumptions
        hostConfiguration.durability = Durability(rawValue: durability) ?? .fsync
        hostConfiguration.work = WorkQueueSettings(leaseTTLSeconds: workLeaseTTLSeconds)
        if let scheduleClockFile {
            logger.warning("--schedule-clock-file: deployments' schedules follow the time in \(scheduleClockFile), not the system clock (for tests)")
            hostConfiguration.scheduleClockFile = scheduleClockFile
        }
        let host: ReverieHost
        if databaseURL.isEmpty {
            host = try ReverieHost(configuration: hostConfiguration, logger: logger)
        } else {
            let store = try await PostgresStore(url: databaseURL, leaseTTL: .milliseconds(Int64(leaseTTLSeconds * 1000)), logger: logger)
            do {
                host = try ReverieHost(configuration: hostConfiguration, store: store, logger: logger)
            } catch {
                try? await store.close()
                throw error
            }
        }
        if staticKeys.isEmpty, try await host.store.listAPIKeys().allSatisfy({ $0.revokedAt != nil }) {
            throw ValidationError("no API key is configured: set REVERIE_API_KEY or run `reverie keys create --data-dir \(dataDirectory)`")
        }
        let address = self.host
        try await host.run { port in
            FileHandle.standardOutput.write(Data("reverie listening on http://\(address):\(port)\n".utf8))
        }
    }

    private func serverConfiguration(staticKeys: [String]) -> ServerConfiguration {
        var server = ServerConfiguration(
            host: host, port: port, maxBodyBytes: maxBodyBytes, heartbeatSeconds: heartbeatSeconds, staticAPIKeys: staticKeys)
        server.maxUploadBytes = maxUploadBytes
        server.streamBufferEvents = streamBufferEvents
        server.streamMaxLagEvents = streamMaxLagEvents
        server.consoleEnabled = !noConsole
        server.console = ConsoleConfiguration(sessionTTL: .seconds(consoleSessionTTL), secureCookie: consoleSecureCookie)
        func seconds(_ value: Double) -> Duration { .milliseconds(Int64(value * 1000)) }
        server.connections = ConnectionLimits(
            headTimeout: seconds(headTimeoutSeconds), keepAliveTimeout: seconds(keepAliveSeconds), bodyTimeout: seconds(bodyTimeoutSeconds),
            writeStallTimeout: seconds(writeStallSeconds), maxConnectionsPerAddress: maxConnectionsPerAddress)
        return server
    }

    private func toolsConfiguration() -> BuiltinTools.Configuration {
        var tools = BuiltinTools.Configuration()
        let limit = bashOutputCharacters
        tools.bash.outputLimits = ToolOutputLimits(maxCharacters: limit, headCharacters: limit / 3, tailCharacters: limit - limit / 3)
        return tools
    }
}
