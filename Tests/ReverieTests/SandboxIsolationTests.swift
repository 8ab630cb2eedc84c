import Foundation
import ReverieCore
import ReverieExecution
import ReverieMockLLM
import ReverieServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Escape attempts from a session's bubblewrap sandbox, made the way an agent would: a scripted
/// model runs bash (and the file tools) on a real server, and each test checks from the host
/// that the boundary held.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SandboxIsolationTests {
    /// One bash command per probe; each probe's result comes back as its tool result's text.
    struct Probe {
        var command: String
        var timeoutMS = 20_000
    }

    /// A scenario that answers "probe-N" with bash running `probes[N]`, and ends the turn on
    /// any tool result.
    static func scenario(_ probes: [Probe], extraRules: [JSONValue] = []) throws -> MockScenario {
        var rules: [JSONValue] = extraRules
        for (index, probe) in probes.enumerated() {
            rules.append([
                "name": .string("probe \(index)"), "last_user_contains": .string("run probe-\(index)."),
                "reply": [["type": "tool_use", "name": "bash", "input": ["command": .string(probe.command), "timeout_ms": .int(Int64(probe.timeoutMS))]]],
            ])
        }
        rules.append(["name": "done", "last_user_regex": "(?s).", "reply": "done"])
        let value: JSONValue = ["rules": .array(rules)]
        return try runtimeScenario(try JSONCoding.string(value))
    }

    /// Runs probe `index` in `session` and returns the tool result's text.
    static func probe(_ index: Int, in session: String, on server: TestServer, turn: Int = 1) async throws -> String {
        try await server.say(session, "run probe-\(index).")
        let events = try await server.waitForIdle(session, count: turn, timeout: .seconds(60))
        let results = events.ofType("agent.tool_result")
        return results.last?.contentText ?? "(no tool result)"
    }

    static func limited(_ configuration: inout HostConfiguration) {
        configuration.isolation.limits = SandboxLimits(processes: 64, fileBytes: 10 << 20)
        configuration.tools.bash.defaultTimeout = .seconds(20)
    }

    @Test func theHostsFilesProcessesAndNetworkAreNotThere() async throws {
        let hostFile = "/tmp/reverie-escape-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: hostFile, contents: Data("host secret".utf8))
        defer { try? FileManager.default.removeItem(atPath: hostFile) }
        let marker = try #require(HostEnvironmentVariable.pick(), "the test process has an environment variable to look for")
        let harness = try await RuntimeHarness.start(try Self.scenario([]), configure: Self.limited)
        try await run({
            let server = harness.server
            let data = server.directory
            let probes = [
                Probe(command: "ls -d \(data) \(data)/reverie.sqlite /work /root 2>&1; head -c 15 \(data)/reverie.sqlite 2>&1; echo"),
                Probe(command: "cat \(hostFile) 2>/dev/null || echo missing; echo listed=$(ls /tmp | grep -c reverie-escape)"),
                Probe(command: "ls /proc | grep -c '^[0-9]'; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c '^\(marker.name)='; env | grep -c '^\(marker.name)='"),
                Probe(command: "(echo > /dev/tcp/127.0.0.1/\(server.port)) 2>&1 && echo REACHED || echo UNREACHABLE; cat /sys/class/net/*/address 2>/dev/null | wc -l"),
                Probe(command: "kill -9 \(getpid()) 2>&1; echo kill=$?; id -u; touch /usr/bin/x 2>&1; echo usr=$?"),
            ]
            let scenario = try Self.scenario(probes)
            await harness.mock.setScenario(scenario)
            let session = try await server.makeRuntimeSession()

            let files = try await Self.probe(0, in: session, on: server)
            #expect(files.contains("No such file"), "\(files)")
            #expect(!files.contains("SQLite format"), "the database is not readable: \(files)")

            let tmp = try await Self.probe(1, in: session, on: server, turn: 2)
            #expect(!tmp.contains("host secret"), "the host's /tmp is not there: \(tmp)")
            #expect(tmp.contains("missing\nlisted=0"), "\(tmp)")

            let processes = try await Self.probe(2, in: session, on: server, turn: 3)
            let counts = processes.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(counts.count == 3, "\(processes)")
            #expect((counts.first ?? 99) < 10, "only the sandbox's own processes are visible: \(processes)")
            #expect(counts.dropFirst().allSatisfy { $0 == 0 }, "neither the server's environment nor its variables: \(processes)")

            let network = try await Self.probe(3, in: session, on: server, turn: 4)
            #expect(network.contains("UNREACHABLE"), "the API on loopback is not reachable: \(network)")
            #expect(!network.contains("REACHED\n"))

            let kill = try await Self.probe(4, in: session, on: server, turn: 5)
            #expect(kill.contains("No such process"), "\(kill)")
            #expect(!kill.contains("\nkill=0"))
            #expect(!kill.contains("\n0\n"), "not root: \(kill)")
            #expect(kill.contains("usr=1"), "the system is read-only: \(kill)")
            // The server is still there.
            #expect(try await server.get("/v1/sessions/\(session)").status == 200)
        }, thenStop: harness.stop)
    }

    @Test func anotherSessionsFilesAreNotThereAndLinksLeadNowhere() async throws {
        let harness = try await RuntimeHarness.start(try Self.scenario([]), configure: Self.limited)
        try await run({
            let server = harness.server
            let first = try await server.makeRuntimeSession()
            let second = try await server.makeRuntimeSession()
            let firstWorkspace = server.sessionFolder(first).appendingPathComponent("workspace")
            let probes = [
                Probe(command: "echo mine > secret.txt && echo wrote"),
                Probe(command: """
                    cat \(firstWorkspace.path)/secret.txt 2>&1; ln -s \(server.directory)/reverie.sqlite db-link 2>&1; \
                    ln \(server.directory)/reverie.sqlite db-hard 2>&1; ln -s /etc/shadow shadow-link; ls /workspace; echo end
                    """),
            ]
            let readLinks: JSONValue = [
                "name": "read links", "last_user_contains": "read the links.",
                "reply": [
                    ["type": "tool_use", "name": "read", "input": ["file_path": "db-link"]],
                    ["type": "tool_use", "name": "read", "input": ["file_path": "shadow-link"]],
                    ["type": "tool_use", "name": "grep", "input": ["pattern": "SQLite", "path": "/workspace"]],
                ],
            ]
            await harness.mock.setScenario(try Self.scenario(probes, extraRules: [readLinks]))
            #expect(try await Self.probe(0, in: first, on: server).contains("wrote"))
            let attempt = try await Self.probe(1, in: second, on: server)
            #expect(attempt.contains("No such file"), "\(attempt)")
            #expect(!attempt.contains("mine"), "another session's files are not visible: \(attempt)")
            #expect(!FileManager.default.fileExists(atPath: server.sessionFolder(second).appendingPathComponent("workspace/db-hard").path))

            try await server.say(second, "read the links.")
            let events = try await server.waitForIdle(second, count: 2, timeout: .seconds(60))
            let results = Array(events.ofType("agent.tool_result").suffix(3))
            #expect(results.count == 3)
            for result in results { #expect(!result.contentText.contains("SQLite format"), "\(result.contentText)") }
            #expect(results[0]["is_error"] == true, "a link to the database leads nowhere: \(results[0].contentText)")
            #expect(results[1]["is_error"] == true, "a link to /etc/shadow leads nowhere: \(results[1].contentText)")
        }, thenStop: harness.stop)
    }

    @Test func processesEndWithTheSessionAndLimitsHold() async throws {
        let harness = try await RuntimeHarness.start(try Self.scenario([]), configure: Self.limited)
        try await run({
            let server = harness.server
            let marker = "escape-\(UUID().uuidString)"
            let probes = [
                Probe(command: "(setsid nohup bash -c 'exec -a \(marker) sleep 1000' > /dev/null 2>&1 &) ; echo started"),
                Probe(command: "echo limit=$(ulimit -u); timeout 5 bash -c 'for i in $(seq 200); do sleep 30 & done' 2>/dev/null; echo running=$(ls /proc | grep -c '^[0-9]'); pkill sleep; echo end"),
                Probe(command: "dd if=/dev/zero of=big bs=1M count=50 2>&1 | tail -2; ls -l big | awk '{print \"size=\" $5}'"),
            ]
            await harness.mock.setScenario(try Self.scenario(probes))
            let session = try await server.makeRuntimeSession()
            #expect(try await Self.probe(0, in: session, on: server).contains("started"))
            #expect(!HostProcesses.matching(marker).isEmpty, "the background process runs")

            let forks = try await Self.probe(1, in: session, on: server, turn: 2)
            #expect(forks.contains("limit=64"), "\(forks)")
            let running = forks.split(separator: "\n").first { $0.hasPrefix("running=") }.flatMap { Int($0.dropFirst(8)) } ?? 999
            #expect(running <= 64, "the process limit stopped the forks: \(forks)")

            let disk = try await Self.probe(2, in: session, on: server, turn: 3)
            #expect(disk.contains("size=10485760"), "the file size limit held: \(disk)")
            #expect(try await server.get("/v1/sessions/\(session)").status == 200, "the server is unharmed")

            let deleted = try await server.delete("/v1/sessions/\(session)")
            #expect(deleted.status == 200)
            let deadline = ContinuousClock.now + .seconds(10)
            while !HostProcesses.matching(marker).isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(HostProcesses.matching(marker).isEmpty, "nothing the session started outlives its deletion")
        }, thenStop: harness.stop)
    }

    @Test func memoryMountsAreRealFoldersReadOnlyInTheKernelAndEditsBecomeVersions() async throws {
        let harness = try await RuntimeHarness.start(try Self.scenario([]), configure: Self.limited)
        try await run({
            let server = harness.server
            let store = try #require(try await server.post("/v1/memory_stores", ["name": "Team Notes"]).json["id"]?.stringValue)
            #expect(try await server.post("/v1/memory_stores/\(store)/memories", ["path": "/style.md", "content": "Use short sentences.\n"]).status == 200)
            let mount = "/mnt/memory/team-notes"
            let probes = [
                Probe(command: "cat \(mount)/style.md; echo 'Prefer tests.' >> \(mount)/style.md 2>&1; rm \(mount)/style.md 2>&1; chmod u+w \(mount)/style.md 2>&1; echo end"),
                Probe(command: "cat \(mount)/style.md && echo 'Prefer tests.' >> \(mount)/style.md && mkdir -p \(mount)/lessons && echo 'Check first.' > \(mount)/lessons/a.md && echo edited"),
            ]
            await harness.mock.setScenario(try Self.scenario(probes))
            let readOnly = try await server.makeRuntimeSession(resources: [["type": "memory_store", "memory_store_id": .string(store), "access": "read_only"]])
            let refused = try await Self.probe(0, in: readOnly, on: server)
            #expect(refused.contains("Use short sentences."), "bash sees the memory: \(refused)")
            #expect(refused.contains("Read-only file system"), "\(refused)")
            let untouched = try await server.get("/v1/memory_stores/\(store)/memory_versions?limit=100").json["data"]?.arrayValue ?? []
            #expect(untouched.count == 1, "nothing changed the read-only store")

            let writable = try await server.makeRuntimeSession(resources: [["type": "memory_store", "memory_store_id": .string(store), "access": "read_write"]])
            let edited = try await Self.probe(1, in: writable, on: server)
            #expect(edited.contains("edited"), "\(edited)")
            let versions = try await server.get("/v1/memory_stores/\(store)/memory_versions?limit=100").json["data"]?.arrayValue ?? []
            let bySession = versions.filter { $0["created_by"] == ["type": "session_actor", "session_id": .string(writable)] }
            #expect(Set(bySession.compactMap { $0["path"]?.stringValue }) == ["/style.md", "/lessons/a.md"], "\(versions)")
            let memories = try await server.get("/v1/memory_stores/\(store)/memories?limit=100&view=full").json["data"]?.arrayValue ?? []
            #expect(memories.first { $0["path"] == "/style.md" }?["content"] == "Use short sentences.\nPrefer tests.\n")
        }, thenStop: harness.stop)
    }

    /// Runs `probes` in a new session on an environment whose `networking` is `networking`,
    /// returning each probe's output.
    static func probes(_ probes: [Probe], networking: JSONValue, harness: RuntimeHarness) async throws -> [String] {
        let server = harness.server
        await harness.mock.setScenario(try Self.scenario(probes))
        let environment = try await server.post("/v1/environments", ["name": "net", "config": ["type": "cloud", "networking": networking]])
        let environmentID = try #require(environment.json["id"]?.stringValue, "\(environment.json)")
        let agent = try await server.makeAgent()
        let session = try #require(try await server.post(
            "/v1/sessions", ["agent": .string(agent), "environment_id": .string(environmentID)]).json["id"]?.stringValue)
        var outputs: [String] = []
        for index in probes.indices { outputs.append(try await Self.probe(index, in: session, on: server, turn: index + 1)) }
        return outputs
    }

    @Test func theEnvironmentsNetworkPolicyIsEnforcedAndLoopbackIsNeverReachable() async throws {
        let origin = try await LoopbackOriginServer(host: "127.0.0.2")
        let harness = try await RuntimeHarness.start(try Self.scenario([])) { configuration in
            Self.limited(&configuration)
            // 127.0.0.2 stands in for a remote host; 127.0.0.1 (the API) stays loopback.
            configuration.isolation.egressAllowedNetworks = ["127.0.0.2/32"]
        }
        try await run({
            let api = "http://127.0.0.1:\(harness.server.port)/health"
            let remote = "http://127.0.0.2:\(origin.port)/hello"
            // `--noproxy ''`: even loopback goes through the proxy (the sandbox's own loopback is empty).
            func curl(_ url: String) -> Probe { Probe(command: "curl -s -S -m 10 --noproxy '' -o - -w ' status=%{http_code}' \(url) 2>&1; echo") }
            let direct = Probe(command: "curl -s -S -m 5 --noproxy '*' \(api) 2>&1; echo")

            let limited = try await Self.probes(
                [curl(remote), curl(api), curl("http://169.254.169.254/latest/meta-data/"), curl("http://10.0.0.1/"), direct],
                networking: ["type": "limited", "allowed_hosts": ["127.0.0.2", "127.0.0.1"]], harness: harness)
            #expect(limited[0].contains("GET /hello"), "an allowed host is reachable: \(limited[0])")
            #expect(limited[0].contains("status=200"))
            for refused in limited.dropFirst().dropLast() {
                #expect(refused.contains("status=403"), "refused by the proxy, even when allowed by name: \(refused)")
                #expect(!refused.contains("\"ok\""))
            }
            #expect(limited[4].contains("Couldn't connect"), "without the proxy nothing leaves the sandbox: \(limited[4])")

            let closed = try await Self.probes(
                [curl(remote)], networking: ["type": "limited", "allowed_hosts": []], harness: harness)
            #expect(closed[0].contains("status=403"), "a host not allowed is refused: \(closed[0])")

            let open = try await Self.probes(
                [curl(remote), curl(api), curl("http://10.0.0.1/")], networking: ["type": "unrestricted"], harness: harness)
            #expect(open[0].contains("status=200"), "\(open[0])")
            #expect(open[1].contains("status=403"), "unrestricted still never reaches loopback: \(open[1])")
            #expect(open[2].contains("status=403"), "nor private ranges: \(open[2])")
            // Only the requests the policy allowed reached the origin.
            #expect(origin.receivedHeads.count == 2)
        }, thenStop: {
            await harness.stop()
            await origin.stop()
        })
    }
}
