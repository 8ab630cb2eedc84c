import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import ReverieConsole
@testable import ReverieCore
@testable import ReverieServer

/// The web console at the HTTP level: sign-in and its cookie, expiry and sign-out, CSRF and
/// origin checks, security headers, and escaping of what agents wrote.
@Suite(.timeLimit(.minutes(3))) struct ConsoleTests {
    /// A client that does not follow redirects, with the console's cookie when signed in.
    struct Browser {
        static let client: HTTPClient = {
            var configuration = HTTPClient.Configuration()
            configuration.redirectConfiguration = .disallow
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        }()

        let server: TestServer
        var cookie: String?

        func request(_ method: HTTPMethod, _ path: String, form: [(String, String)]? = nil, headers: [(String, String)] = []) async throws
            -> TestServer.Reply
        {
            var request = HTTPClientRequest(url: server.baseURL + path)
            request.method = method
            if let cookie { request.headers.add(name: "cookie", value: "reverie_console=\(cookie)") }
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let form {
                request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
                let body = form.map { "\(urlEncoded($0.0))=\(urlEncoded($0.1))" }.joined(separator: "&")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await Self.client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return TestServer.Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
        }

        /// POSTs a form from the console's own origin.
        func post(_ path: String, _ form: [(String, String)], headers: [(String, String)]? = nil) async throws -> TestServer.Reply {
            try await request(.POST, path, form: form, headers: headers ?? [("origin", server.baseURL), ("sec-fetch-site", "same-origin")])
        }

        /// Signs in with `key`, keeping the cookie.
        mutating func signIn(_ key: String = TestServer.apiKey) async throws -> TestServer.Reply {
            let reply = try await post("/console/sign-in", [("api_key", key)])
            if let setCookie = reply.headers.first(name: "set-cookie"), let value = setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last {
                cookie = String(value)
            }
            return reply
        }

        /// The CSRF token of the signed-in session, read from a page's forms.
        func csrfToken() async throws -> String {
            let page = try await request(.GET, "/console/agents")
            guard let range = page.text.range(of: #"name="csrf" value=""#) else { throw TestFailure("no csrf field in the page") }
            return String(page.text[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    /// Ten failed sign-ins from one address within a minute refuse that address's next
    /// attempts (429, `Retry-After`), even with a good key, until the window has passed.
    @Test func repeatedFailedSignInsAreThrottled() async throws {
        let server = try await TestServer.start()
        try await run({
            var browser = Browser(server: server)
            for attempt in 1...10 {
                #expect(try await browser.signIn("wrong-key-\(attempt)").status == 401)
            }
            let refused = try await browser.signIn()
            #expect(refused.status == 429)
            #expect(Int(refused.headers.first(name: "retry-after") ?? "") ?? 0 > 0)
            #expect(refused.text.contains("Too many failed sign-ins from this address"))
            #expect(browser.cookie == nil)
        }, thenStop: server.stop)
    }

    @Test func theThrottleForgetsOldFailuresAndSuccessesClearIt() {
        let throttle = SignInThrottle(limit: 3, window: .seconds(60), capacity: 2)
        let start = ContinuousClock.now
        for second in 0..<3 { throttle.failed("10.0.0.1", now: start + .seconds(second)) }
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(10)) == .seconds(50))
        #expect(throttle.retryAfter("10.0.0.2", now: start + .seconds(10)) == nil, "other addresses are unaffected")
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(60)) == nil, "the oldest failure left the window")
        for second in 100..<103 { throttle.failed("10.0.0.1", now: start + .seconds(second)) }
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(103)) == .seconds(57))
        throttle.succeeded("10.0.0.1")
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(103)) == nil)
        // Past its capacity it forgets the address whose last failure is oldest.
        for second in 0..<3 { throttle.failed("10.0.0.3", now: start + .seconds(200 + second)) }
        for second in 0..<3 { throttle.failed("10.0.0.4", now: start + .seconds(210 + second)) }
        for second in 0..<3 { throttle.failed("10.0.0.5", now: start + .seconds(220 + second)) }
        #expect(throttle.retryAfter("10.0.0.3", now: start + .seconds(225)) == nil)
        #expect(throttle.retryAfter("10.0.0.4", now: start + .seconds(225)) != nil)
        #expect(throttle.retryAfter("10.0.0.5", now: start + .seconds(225)) != nil)
    }

    @Test func everyPageAndActionNeedsASignIn() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession()
            let browser = Browser(server: server)
            for path in ["/console/sessions", "/console/sessions/\(session)", "/console/sessions/\(session)/live", "/console/agents", "/console/memory",
                         "/console/dreams", "/console/webhooks", "/console/environments", "/console/vaults"] {
                let reply = try await browser.request(.GET, path)
                #expect(reply.status == 303, "\(path)")
                #expect(reply.headers.first(name: "location")?.hasPrefix("/console/sign-in?next=") == true, "\(path)")
                #expect(reply.headers.first(name: "content-security-policy") != nil)
            }
            for path in ["/console/sessions/\(session)/message", "/console/sessions/\(session)/interrupt", "/console/sign-out",
                         "/console/dreams/drm_x/review", "/console/memory/mst_x/memories/mem_x/pin"] {
                #expect(try await browser.post(path, [("text", "hi")]).status == 401, "\(path)")
            }
            // An API key header is no sign-in, and `/console/..` does not reach the API unauthenticated.
            #expect(try await browser.request(.GET, "/console/sessions", headers: [("x-api-key", TestServer.apiKey)]).status == 303)
            #expect(try await browser.request(.GET, "/console/../v1/agents").status == 401)
            // The static files need no sign-in and carry the same headers.
            let css = try await browser.request(.GET, "/console/static/console.css")
            #expect(css.status == 200)
            #expect(css.headers.first(name: "content-type")?.hasPrefix("text/css") == true)
            #expect(try await browser.request(.GET, "/console/static/nope.js").status == 404)
            let events = try await server.get("/v1/sessions/\(session)/events")
            #expect(events.json["data"]?.arrayValue?.contains { $0["type"] == "user.message" } == false)
        }, thenStop: server.stop)
    }

    @Test func signInSetsAStrictHttpOnlyCookieAndSignOutEndsIt() async throws {
        let server = try await TestServer.start()
        try await run({
            var browser = Browser(server: server)
            let wrong = try await browser.signIn("wrong-key")
            #expect(wrong.status == 401)
            #expect(wrong.headers.first(name: "set-cookie") == nil)
            let reply = try await browser.signIn()
            #expect(reply.status == 303)
            #expect(reply.headers.first(name: "location") == "/console/sessions")
            let cookie = try #require(reply.headers.first(name: "set-cookie"))
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] { #expect(cookie.contains(attribute), "\(attribute)") }
            #expect(!cookie.contains("Secure"))
            #expect(!cookie.contains(TestServer.apiKey))
            let page = try await browser.request(.GET, "/console/sessions")
            #expect(page.status == 200)
            let csp = try #require(page.headers.first(name: "content-security-policy"))
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
            #expect(page.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(page.headers.first(name: "referrer-policy") == "same-origin")
            #expect(page.headers.first(name: "cache-control") == "no-store")
            #expect(!page.text.contains(TestServer.apiKey))
            // A sign-in from another site is refused (login CSRF).
            let crossSite = try await browser.post("/console/sign-in", [("api_key", TestServer.apiKey)], headers: [("origin", "http://evil.example")])
            #expect(crossSite.status == 403)
            // Behind a TLS proxy the cookie is Secure.
            let proxied = try await browser.post("/console/sign-in", [("api_key", TestServer.apiKey)],
                                                  headers: [("origin", server.baseURL), ("x-forwarded-proto", "https")])
            #expect(proxied.headers.first(name: "set-cookie")?.contains("; Secure") == true)
            // Sign-out ends the server-side session: the old cookie no longer works.
            let token = try await browser.csrfToken()
            let out = try await browser.post("/console/sign-out", [("csrf", token)])
            #expect(out.status == 303)
            #expect(out.headers.first(name: "set-cookie")?.contains("Max-Age=0") == true)
            #expect(try await browser.request(.GET, "/console/sessions").status == 303)
        }, thenStop: server.stop)
    }

    @Test func secureCookieWhenConfiguredAndSignInsExpire() async throws {
        let server = try await TestServer.start {
            $0.server.console = ConsoleConfiguration(sessionTTL: .seconds(3), secureCookie: true)
        }
        try await run({
            var browser = Browser(server: server)
            let reply = try await browser.signIn()
            #expect(reply.headers.first(name: "set-cookie")?.hasSuffix("; Secure") == true)
            #expect(try await browser.request(.GET, "/console/agents").status == 200)
            try await Task.sleep(for: .milliseconds(3500))
            #expect(try await browser.request(.GET, "/console/agents").status == 303)
        }, thenStop: server.stop)
    }

    @Test func aRevokedKeyEndsItsConsoleSignIn() async throws {
        let server = try await TestServer.start { $0.server.apiKeyCacheLifetime = .zero }
        try await run({
            let (record, secret) = APIKeyRecord.generate(name: "console")
            try await server.host.store.createAPIKey(record)
            var browser = Browser(server: server)
            #expect(try await browser.signIn(secret).status == 303)
            #expect(try await browser.request(.GET, "/console/agents").status == 200)
            #expect(try await server.host.store.revokeAPIKey(id: record.id))
            #expect(try await browser.request(.GET, "/console/agents").status == 303)
        }, thenStop: server.stop)
    }

    @Test func actionsNeedTheTokenAndThisOrigin() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession()
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            let token = try await browser.csrfToken()
            #expect(token.count >= 40)
            let path = "/console/sessions/\(session)/message"
            #expect(try await browser.post(path, [("text", "no token")]).status == 403)
            #expect(try await browser.post(path, [("text", "bad token"), ("csrf", String(repeating: "a", count: token.count))]).status == 403)
            #expect(try await browser.post(path, [("text", "cross origin"), ("csrf", token)], headers: [("origin", "http://evil.example")]).status == 403)
            #expect(try await browser.post(path, [("text", "same site"), ("csrf", token)],
                                           headers: [("origin", server.baseURL), ("sec-fetch-site", "same-site")]).status == 403)
            #expect(try await browser.post(path, [("text", "other port"), ("csrf", token)], headers: [("origin", "http://127.0.0.1:1")]).status == 403)
            let sent = try await browser.post(path, [("text", "genuine"), ("csrf", token)])
            #expect(sent.status == 303)
            // The token also works as a header (the console's scripts send both).
            #expect(try await browser.post(path, [("text", "by header")], headers: [("origin", server.baseURL), ("x-csrf-token", token)]).status == 303)
            let events = try await server.get("/v1/sessions/\(session)/events")
            let texts = events.json["data"]?.arrayValue?.filter { $0["type"] == "user.message" }.compactMap { $0["content"]?[0]?["text"]?.stringValue }
            #expect(texts == ["genuine", "by header"])
            // Invalid input through the console is the API's error, as a page.
            let empty = try await browser.post(path, [("text", "  "), ("csrf", token)])
            #expect(empty.status == 400)
            #expect(empty.text.contains("write a message"))
        }, thenStop: server.stop)
    }

    @Test func agentTextIsEscapedEverywhere() async throws {
        let server = try await TestServer.start()
        try await run({
            let hostile = #"<script>alert("x")</script><img src=x onerror=alert(1)>"#
            let (agent, environment) = try await server.makeAgentAndEnvironment()
            let created = try await server.post("/v1/sessions", [
                "agent": .string(agent), "environment_id": .string(environment), "title": .string(hostile),
                "initial_events": [["type": "user.message", "content": [["type": "text", "text": .string(hostile)]]]],
            ])
            let session = try #require(created.json["id"]?.stringValue)
            // An agent message with the same text, as the runtime would append it.
            _ = try await server.platform.log.append([SessionEvent(type: .agentMessage, fields: ["content": [["type": "text", "text": .string(hostile)]]])], to: session)
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            for path in ["/console/sessions", "/console/sessions/\(session)"] {
                let page = try await browser.request(.GET, path)
                #expect(page.status == 200)
                #expect(!page.text.contains("<script>alert"), "\(path)")
                #expect(!page.text.contains("<img src=x"), "\(path)")
                #expect(page.text.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "\(path)")
            }
            // The page's only scripts are the console's own module.
            let timeline = try await browser.request(.GET, "/console/sessions/\(session)")
            #expect(timeline.text.components(separatedBy: "<script").count == 2)
            #expect(timeline.text.contains(#"<script type="module" src="/console/static/console.js"></script>"#))
        }, thenStop: server.stop)
    }

    /// The vaults page lists credentials by what they are for, escaped, and never shows a secret.
    @Test func vaultsPageShowsMetadataOnly() async throws {
        let server = try await TestServer.start()
        try await run({
            let hostile = #"<script>alert("v")</script>"#
            let vault = try #require(try await server.post("/v1/vaults", ["display_name": .string(hostile)]).json["id"]?.stringValue)
            let secret = "console-secret-\(UUID().uuidString)"
            let created = try await server.post("/v1/vaults/\(vault)/credentials", [
                "display_name": "GitHub",
                "auth": ["type": "environment_variable", "secret_name": "GH_TOKEN", "secret_value": .string(secret),
                         "networking": ["type": "limited", "allowed_hosts": ["api.github.com"]]],
            ])
            #expect(created.status == 200)
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            let page = try await browser.request(.GET, "/console/vaults")
            #expect(page.status == 200)
            #expect(page.text.contains(vault) && page.text.contains("GH_TOKEN") && page.text.contains("api.github.com"))
            #expect(page.text.contains("&lt;script&gt;alert(&quot;v&quot;)&lt;/script&gt;") && !page.text.contains("<script>alert"))
            #expect(!page.text.contains(secret))
        }, thenStop: server.stop)
    }

    /// A specialist thread is a tab of its own; the combined timeline labels its events.
    @Test func specialistThreadsAreTabs() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession(initialText: "primary task")
            let snapshot = try await server.platform.log.session(id: session)
            let primary = try await server.platform.log.ensurePrimaryThread(sessionID: session, agent: snapshot.agent)
            var specialist = snapshot.agent
            specialist.name = "researcher"
            let threadID = ResourceID.make(ResourceID.thread)
            let now = Timestamp.now()
            _ = try await server.platform.log.createThread(
                SessionThread(id: threadID, sessionID: session, agent: specialist, parentThreadID: primary, state: SessionThreadState(updatedAt: now),
                              createdAt: now),
                events: [SessionEvent(type: .sessionThreadCreated, fields: ["session_thread_id": .string(threadID), "agent_name": "researcher"])])
            _ = try await server.platform.log.append([SessionEvent(type: .agentMessage, fields: [
                "session_thread_id": .string(threadID), "content": [["type": "text", "text": "found in the thread"]],
            ])], to: session)
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            let all = try await browser.request(.GET, "/console/sessions/\(session)")
            #expect(all.text.contains("?thread=\(threadID)"))
            #expect(all.text.contains("?thread=\(primary)"))
            #expect(all.text.contains(#"<span class="lane">researcher</span>"#))
            #expect(all.text.contains("primary task") && all.text.contains("found in the thread"))
            let lane = try await browser.request(.GET, "/console/sessions/\(session)?thread=\(threadID)")
            #expect(lane.text.contains("found in the thread"))
            #expect(!lane.text.contains("primary task"))
            let primaryLane = try await browser.request(.GET, "/console/sessions/\(session)?thread=\(primary)")
            #expect(primaryLane.text.contains("primary task"))
            #expect(!primaryLane.text.contains("found in the thread"))
        }, thenStop: server.stop)
    }

    /// Odd query parameters get a page or a clear error, never another resource's data.
    @Test func oddParametersAreHandled() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession(initialText: "first")
            let store = try #require(try await server.post("/v1/memory_stores", ["name": "s"]).json["id"]?.stringValue)
            let one = try await server.post("/v1/memory_stores/\(store)/memories", ["path": "/one.md", "content": "one"])
            let two = try await server.post("/v1/memory_stores/\(store)/memories", ["path": "/two.md", "content": "secret two"])
            let oneID = try #require(one.json["id"]?.stringValue)
            let twoVersion = try #require(two.json["memory_version_id"]?.stringValue)
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            for query in ["?before=-5", "?before=0", "?before=999999", "?before=abc", "?thread="] {
                let page = try await browser.request(.GET, "/console/sessions/\(session)\(query)")
                #expect(page.status == 200, "\(query)")
            }
            #expect(try await browser.request(.GET, "/console/sessions/\(session)?before=999999").text.contains("first"))
            let crossed = try await browser.request(.GET, "/console/memory/\(store)/memories/\(oneID)?from=\(twoVersion)")
            #expect(crossed.status == 404)
            #expect(!crossed.text.contains("secret two"))
            #expect(try await browser.request(.GET, "/console/sessions?status=bogus").status == 400)
            #expect(try await browser.request(.GET, "/console/sessions?created_after=yesterday").status == 400)
            #expect(try await browser.request(.GET, "/console/agents/agent_nope").status == 404)
        }, thenStop: server.stop)
    }

    /// The live route replays what follows `after` (or `Last-Event-ID`) as rendered, escaped
    /// fragments, one `event: entry` per event with its sequence as the id, then follows the log.
    @Test func theLiveStreamSendsRenderedEscapedFragments() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession(initialText: "first <b>bold</b>\r\nid: 999")
            var browser = Browser(server: server)
            _ = try await browser.signIn()
            var request = HTTPClientRequest(url: server.baseURL + "/console/sessions/\(session)/live?after=0")
            request.headers.add(name: "cookie", value: "reverie_console=\(browser.cookie ?? "")")
            let response = try await Browser.client.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 200)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            #expect(response.headers.first(name: "content-security-policy") != nil)
            var text = ""
            var appended = false
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if !appended, text.contains("first &lt;b&gt;") {
                    appended = true
                    _ = try await server.post("/v1/sessions/\(session)/events", [
                        "events": [["type": "user.message", "content": [["type": "text", "text": "second <script>x</script>"]]]],
                    ])
                }
                if text.contains("second &lt;script&gt;") { break }
            }
            #expect(text.contains("event: entry\nid: 1\ndata: <li class=\"entry message user\""))
            #expect(!text.contains("<b>bold</b>") && !text.contains("<script>x"))
            // The carriage return an agent wrote cannot start a field of its own.
            #expect(!text.contains("\r"))
            #expect(!text.contains("\nid: 999"))
            // Resuming with Last-Event-ID skips what was seen.
            var resume = HTTPClientRequest(url: server.baseURL + "/console/sessions/\(session)/live")
            resume.headers.add(name: "cookie", value: "reverie_console=\(browser.cookie ?? "")")
            resume.headers.add(name: "last-event-id", value: "1")
            let resumed = try await Browser.client.execute(resume, timeout: .seconds(30))
            var rest = ""
            for try await chunk in resumed.body {
                rest += String(buffer: chunk)
                if rest.contains("second &lt;script&gt;") { break }
            }
            #expect(!rest.contains("first &lt;b&gt;"))
        }, thenStop: server.stop)
    }

    @Test func lineDiffMarksAddedAndRemovedLines() {
        let diff = LineDiff(from: "a\nb\nc\nd", to: "a\nB\nc\nd\ne")
        #expect(diff.lines.map(\.kind) == [.same, .removed, .added, .same, .same, .added])
        #expect(diff.lines.filter { $0.kind == .added }.map(\.text) == ["B", "e"])
        #expect(!LineDiff(from: "same", to: "same").hasChanges)
        #expect(LineDiff(from: "", to: "x").lines == [.init(kind: .added, text: "x")])
    }
}
