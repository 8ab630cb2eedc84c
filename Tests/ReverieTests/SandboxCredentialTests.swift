import Foundation
import Logging
import ReverieCore
import ReverieMockLLM
import ReverieRuntime
import Synchronization
import Testing

@testable import ReverieExecution

/// An agent's bash in a real bubblewrap sandbox uses an `environment_variable` credential the way
/// the issue describes: `$API_TOKEN` holds a placeholder, `curl` and python reach an HTTPS host
/// through the session's egress proxy, which puts the real secret on the wire to the credential's
/// hosts only; nothing in the sandbox (environment, files, output) ever holds the secret.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SandboxCredentialTests {
    static let secret = "ghp_Sandbox5ecretValue_9f8e7d6c5b4a"

    @Test func anAgentsCurlUsesTheSecretWithoutEverSeeingIt() async throws {
        let folder = URL(fileURLWithPath: TemporaryDirectory.make()).resolvingSymlinksInPath()
        defer { try? FileManager.default.removeItem(at: folder) }
        let origin = try await ReflectingOrigin(tls: folder.appendingPathComponent("origin-ca").path)
        let authority = try EgressCertificateAuthority.loadOrCreate(directory: folder.appendingPathComponent("egress-ca").path)
        let interception = try EgressInterception(authority: authority, extraTrustRootsPEM: [origin.caPEM].compactMap { $0 })
        let credential = EgressCredential(
            name: "API_TOKEN", secret: Self.secret, hosts: .limited(["api.vault.test"]), injection: .init(header: true, body: true))
        let sandbox = try Sandbox(sessionID: "sesn_credentials", folder: folder.appendingPathComponent("session"))
        let plane = IsolatedExecutionPlane(
            sandbox: sandbox, tools: ["bash": BashTool()], configuration: BuiltinTools.Configuration(),
            settings: IsolationSettings(toolServer: TestBinaries.reverie),
            egress: { CredentialProxyFixture.policy },
            network: SandboxNetwork(credentials: { [credential] }, interception: interception, resolver: FakeHostResolver(CredentialProxyFixture.names)),
            logger: Logger(label: "sandbox-credentials"))
        // The origin's own CA, for the host reached through a plain splice.
        try (origin.caPEM ?? "").write(to: sandbox.workspace.root.appendingPathComponent("origin-ca.pem"), atomically: true, encoding: .utf8)

        func bash(_ command: String) async -> String {
            let output = await plane.execute(ToolCall(sessionID: "sesn_credentials", toolUseID: "t", name: "bash", input: ["command": .string(command)]))
            return output.text
        }
        let port = origin.port
        do {
            let placeholder = await bash("printf %s \"$API_TOKEN\"")
            #expect(placeholder.hasPrefix(credential.placeholder + "\n"), "the variable holds the placeholder: \(placeholder)")
            let withCurl = await bash(
                "curl -sS -m 20 -H \"Authorization: Bearer $API_TOKEN\" --data \"token=$API_TOKEN\" -w ' status=%{http_code}' https://api.vault.test:\(port)/agent")
            #expect(withCurl.contains("status=200"), "\(withCurl)")
            let withPython = await bash("""
                python3 -c 'import os, urllib.request; r = urllib.request.Request("https://api.vault.test:\(port)/python", headers={"X-Key": os.environ["API_TOKEN"]}); print("python", urllib.request.urlopen(r, timeout=20).status)' 2>&1
                """)
            #expect(withPython.contains("python 200"), "\(withPython)")
            if FileManager.default.fileExists(atPath: SandboxPaths.systemCABundle) {
                // Without the variables, curl reads the distribution's bundle, which the sandbox's replaces.
                let bundled = await bash(
                    "env -u SSL_CERT_FILE -u CURL_CA_BUNDLE curl -sS -m 20 -o /dev/null -w 'status=%{http_code}' https://api.vault.test:\(port)/bundle")
                #expect(bundled.contains("status=200"), "\(bundled)")
            }
            let elsewhere = await bash(
                "curl -sS -m 20 --cacert origin-ca.pem -H \"Authorization: Bearer $API_TOKEN\" -w ' status=%{http_code}' https://other.vault.test:\(port)/other")
            #expect(elsewhere.contains("status=200"), "\(elsewhere)")
            let environment = await bash("env; tr '\\0' '\\n' < /proc/self/environ; cat /.reverie/ca-bundle.pem | tail -n 3; ps -eo args 2>/dev/null")
            #expect(environment.contains("API_TOKEN=\(credential.placeholder)"))
            #expect(environment.contains("SSL_CERT_FILE=/.reverie/ca-bundle.pem"))

            let requests = origin.received
            #expect(requests.count == (FileManager.default.fileExists(atPath: SandboxPaths.systemCABundle) ? 4 : 3))
            let agent = requests.first { $0.head.hasPrefix("POST /agent ") }
            #expect(agent?.head.contains("Authorization: Bearer \(Self.secret)") == true, "the host on the list gets the secret in the header")
            #expect(agent?.body == "token=\(Self.secret)", "and in the body")
            #expect(requests.first { $0.head.hasPrefix("GET /python ") }?.head.contains("X-Key: \(Self.secret)") == true)
            let other = requests.first { $0.head.hasPrefix("GET /other ") }
            #expect(other?.head.contains("Authorization: Bearer \(credential.placeholder)") == true, "a host not on the list gets the placeholder")
            for output in [placeholder, withCurl, withPython, elsewhere, environment] {
                #expect(!output.contains(Self.secret), "the agent never sees the secret: \(output)")
            }
            // The reflecting origin echoed the secret back; the agent saw it masked.
            #expect(withCurl.contains("Bearer " + String(repeating: "*", count: Self.secret.utf8.count)))
            // Nothing in the session's folders holds it either.
            let files = FileManager.default.enumerator(atPath: folder.appendingPathComponent("session").path)?.allObjects as? [String] ?? []
            for file in files {
                let data = (try? Data(contentsOf: folder.appendingPathComponent("session").appendingPathComponent(file))) ?? Data()
                #expect(data.range(of: Data(Self.secret.utf8)) == nil, "\(file)")
            }
        }
        await sandbox.close()
        await origin.stop()
    }

    /// Hands every session one credential, remembering which sessions asked.
    final class OneCredential: SessionEgressCredentialSource {
        let asked = Mutex<[String]>([])
        func credentials(for session: Session) async throws -> [EgressCredential] {
            asked.withLock { $0.append(session.id) }
            return [EgressCredential(
                name: "API_TOKEN", secret: SandboxCredentialTests.secret, hosts: .limited(["127.0.0.2"]), injection: .init(header: true, body: false))]
        }
    }

    @Test func throughTheAPIAnAgentsCurlCarriesTheSecretAndNothingStoredHoldsIt() async throws {
        let origin = try await LoopbackOriginServer(host: "127.0.0.2")
        let source = OneCredential()
        let harness = try await RuntimeHarness.start(try SandboxIsolationTests.scenario([]), egressCredentials: source) { configuration in
            SandboxIsolationTests.limited(&configuration)
            configuration.isolation.egressAllowedNetworks = ["127.0.0.2/32"]
        }
        try await run({
            let curl = "curl -sS -m 10 --noproxy '' -H \"Authorization: Bearer $API_TOKEN\" -w ' status=%{http_code}' http://127.0.0.2:\(origin.port)/api"
            let outputs = try await SandboxIsolationTests.probes(
                [SandboxIsolationTests.Probe(command: curl + "; echo; echo \"token=$API_TOKEN\""), SandboxIsolationTests.Probe(command: "env")],
                networking: ["type": "limited", "allowed_hosts": ["127.0.0.2"]], harness: harness)
            #expect(outputs[0].contains("status=200"), "\(outputs[0])")
            #expect(outputs[0].contains("token=reverie_placeholder_"), "\(outputs[0])")
            #expect(outputs[1].contains("API_TOKEN=reverie_placeholder_"))
            for output in outputs { #expect(!output.contains(Self.secret)) }
            #expect(origin.receivedHeads.first?.contains("Authorization: Bearer \(Self.secret)") == true, "\(origin.receivedHeads)")
            // Read when the session's sandbox started (and again by the proxy if 5 s had passed).
            #expect(source.asked.withLock { $0.count } >= 1)
            // Nothing the server stored (database, its journal, session folders, the CA) holds the secret.
            let data = harness.server.directory
            let files = FileManager.default.enumerator(atPath: data)?.allObjects as? [String] ?? []
            #expect(files.contains { $0.hasSuffix("egress-ca/ca-key.pem") })
            for file in files {
                let contents = (try? Data(contentsOf: URL(fileURLWithPath: data).appendingPathComponent(file))) ?? Data()
                #expect(contents.range(of: Data(Self.secret.utf8)) == nil, "\(file)")
            }
        }, thenStop: {
            await harness.stop()
            await origin.stop()
        })
    }
}
