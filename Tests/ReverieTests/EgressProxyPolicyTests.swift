import Testing
@testable import ReverieCore
@testable import ReverieExecution

@Suite struct EgressProxyPolicyTests {
    @Test(arguments: [
        ("api.example.com", "api.example.com", true), ("API.Example.COM", "api.example.com", true),
        ("api.example.com", "api.example.com.", true), ("api.example.com", "example.com", false),
        ("api.example.com", "xapi.example.com", false), ("*.example.com", "a.example.com", true),
        ("*.Example.com", "a.b.EXAMPLE.com", true), ("*.example.com", "example.com", false),
        ("*.example.com", "badexample.com", false), ("*.example.com", "example.com.evil.test", false),
        ("*.", "a.", false), ("*", "anything.test", false), ("", "", false),
        ("10.0.0.1", "10.0.0.1", true), ("10.0.0.1", "10.0.0.2", false), ("::1", "[::1]", true),
        ("[::1]", "0:0:0:0:0:0:0:1", true), ("*.0.0.1", "10.0.0.1", false), ("example.com", "10.0.0.1", false),
    ])
    func allowedHostPatterns(_ pattern: String, _ host: String, _ matches: Bool) {
        #expect(EgressPolicy.pattern(pattern, matches: host) == matches)
    }

    @Test func modesDecideWhichHostsMayBeNamed() {
        #expect(EgressPolicy(mode: .none).hostRefusal(for: "example.com") == .noNetworkAccess)
        #expect(EgressPolicy(mode: .unrestricted).hostRefusal(for: "example.com") == nil)
        let limited = EgressPolicy(mode: .limited(allowedHosts: ["pypi.org", "*.githubusercontent.com"]))
        #expect(limited.hostRefusal(for: "pypi.org") == nil)
        #expect(limited.hostRefusal(for: "raw.githubusercontent.com") == nil)
        #expect(limited.hostRefusal(for: "github.com") == .hostNotAllowed(host: "github.com"))
        #expect(EgressPolicy(mode: .limited(allowedHosts: [])).hostRefusal(for: "pypi.org") == .hostNotAllowed(host: "pypi.org"))
    }

    @Test(arguments: [
        "127.0.0.1", "127.0.0.2", "10.0.0.1", "172.16.5.4", "192.168.0.1", "100.64.0.1", "169.254.169.254", "0.0.0.0",
        "224.0.0.1", "255.255.255.255", "::1", "::", "fd00::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
    ])
    func nonPublicAddressesAreRefused(_ text: String) throws {
        let address = try #require(NetworkAddress(text))
        #expect(EgressPolicy(mode: .unrestricted).addressRefusal(for: address, host: text) != nil)
    }

    @Test func allowedNetworksAdmitOnlyTheirBlock() throws {
        let policy = EgressPolicy(mode: .unrestricted, allowedNetworks: ["127.0.0.2/32", "10.20.0.0/16", "fd00:1::/64", "nonsense"])
        #expect(policy.malformedNetworks == ["nonsense"])
        func refused(_ text: String) throws -> Bool {
            try policy.addressRefusal(for: #require(NetworkAddress(text)), host: text) != nil
        }
        #expect(try !refused("127.0.0.2"))
        #expect(try !refused("::ffff:127.0.0.2"))
        #expect(try refused("127.0.0.1"))
        #expect(try !refused("10.20.255.1"))
        #expect(try refused("10.21.0.1"))
        #expect(try !refused("fd00:1::99"))
        #expect(try refused("fd00:2::1"))
        #expect(try !refused("93.184.216.34"))
        // Unusable addresses stay refused even inside an admitted block.
        let everything = EgressPolicy(mode: .unrestricted, allowedNetworks: ["0.0.0.0/0"])
        #expect(try everything.addressRefusal(for: #require(NetworkAddress("0.0.0.0")), host: "0.0.0.0") != nil)
        #expect(try everything.addressRefusal(for: #require(NetworkAddress("10.1.2.3")), host: "10.1.2.3") == nil)
    }

    @Test func cidrRangesParseAndMatch() throws {
        let block = try #require(CIDRRange("10.20.30.40/12"))
        #expect(block.description == "10.16.0.0/12")
        #expect(try block.contains(#require(NetworkAddress("10.31.255.255"))))
        #expect(try !block.contains(#require(NetworkAddress("10.32.0.0"))))
        #expect(try !block.contains(#require(NetworkAddress("fd00::1"))))
        #expect(CIDRRange("127.0.0.2")?.prefixLength == 32)
        #expect(CIDRRange("::1")?.prefixLength == 128)
        #expect(CIDRRange("fe80::/10")?.description == "fe80::/10")
        for malformed in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "example.com/8", "::/129", ""] {
            #expect(CIDRRange(malformed) == nil, "\(malformed)")
        }
    }

    @Test func authorizerResolvesOnceAndChecksEveryAddress() async {
        let resolver = FakeHostResolver([
            "good.test": ["127.0.0.2"], "rebind.test": ["127.0.0.2", "10.0.0.7"], "loop.test": ["127.0.0.1"],
        ])
        let policy = EgressPolicy(mode: .unrestricted, allowedNetworks: ["127.0.0.2/32"])
        let authorizer = EgressAuthorizer(policy: policy, resolver: resolver)
        #expect(await authorizer.authorize(host: "good.test") == .allowed(addresses: [NetworkAddress("127.0.0.2")].compactMap { $0 }))
        guard case .denied(.addressNotPublic(_, let address, .private)) = await authorizer.authorize(host: "rebind.test") else {
            Issue.record("a host with one private address must be refused")
            return
        }
        #expect(address.description == "10.0.0.7")
        #expect(await authorizer.authorize(host: "nowhere.test") == .denied(.doesNotResolve(host: "nowhere.test")))
        guard case .denied(.addressNotPublic(_, _, .loopback)) = await authorizer.authorize(host: "loop.test") else {
            Issue.record("loopback must be refused")
            return
        }
        // IP literals never reach the resolver.
        guard case .denied(.addressNotPublic(_, _, .linkLocal)) = await authorizer.authorize(host: "169.254.169.254") else {
            Issue.record("the metadata address must be refused")
            return
        }
        #expect(resolver.lookups == ["good.test", "rebind.test", "nowhere.test", "loop.test"])
        // The host rule comes first: a refused name is never resolved.
        let limited = EgressAuthorizer(policy: EgressPolicy(mode: .limited(allowedHosts: ["good.test"])), resolver: resolver)
        #expect(await limited.authorize(host: "other.test") == .denied(.hostNotAllowed(host: "other.test")))
        #expect(resolver.lookups.count == 4)
    }

    @Test func denialsReadAsReasons() throws {
        let metadata = try #require(NetworkAddress("169.254.169.254"))
        #expect(EgressDenial.addressNotPublic(host: "169.254.169.254", address: metadata, scope: .linkLocal).description
            == "169.254.169.254 is a link-local address")
        let loopback = try #require(NetworkAddress("127.0.0.1"))
        #expect(EgressDenial.addressNotPublic(host: "loop.test", address: loopback, scope: .loopback).description
            == "host 'loop.test' resolves to 127.0.0.1, a loopback address")
        #expect(EgressDenial.hostNotAllowed(host: "x.test").description == "host 'x.test' is not in allowed_hosts")
    }
}

@Suite struct EgressProxyRequestTests {
    @Test func parsesConnect() throws {
        let request = try ProxyRequest.parse(head: "CONNECT API.Example.com:443 HTTP/1.1\r\nHost: api.example.com:443")
        #expect(request.method == "CONNECT")
        #expect(request.host == "api.example.com")
        #expect(request.port == 443)
        #expect(request.target == .tunnel)
        let v6 = try ProxyRequest.parse(head: "CONNECT [::1]:8443 HTTP/1.1")
        #expect(v6.host == "::1")
        #expect(v6.port == 8443)
    }

    @Test func parsesAbsoluteFormAndRewritesTheHead() throws {
        let request = try ProxyRequest.parse(
            head: "GET http://Origin.test:8080/a/b?c=d#frag HTTP/1.1\r\nHost: wrong\r\nProxy-Connection: keep-alive\r\n"
                + "Proxy-Authorization: Basic eA==\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nAccept: */*\r\nUser-Agent: t"
        )
        #expect(request.host == "origin.test")
        #expect(request.port == 8080)
        #expect(request.target == .forward(originForm: "/a/b?c=d"))
        #expect(request.originHead() == "GET /a/b?c=d HTTP/1.1\r\nHost: origin.test:8080\r\nAccept: */*\r\nUser-Agent: t\r\nConnection: close\r\n\r\n")
        let bare = try ProxyRequest.parse(head: "POST http://origin.test HTTP/1.0\r\nContent-Length: 3")
        #expect(bare.port == 80)
        #expect(bare.originHead() == "POST / HTTP/1.1\r\nHost: origin.test\r\nContent-Length: 3\r\nConnection: close\r\n\r\n")
        #expect(try ProxyRequest.parse(head: "GET http://origin.test?x=1 HTTP/1.1").target == .forward(originForm: "/?x=1"))
    }

    @Test(arguments: [
        "GET /relative HTTP/1.1", "GET https://origin.test/ HTTP/1.1", "CONNECT origin.test HTTP/1.1", "CONNECT origin.test:0 HTTP/1.1",
        "CONNECT origin.test:70000 HTTP/1.1", "CONNECT user@origin.test:443 HTTP/1.1", "GET http://u:p@origin.test/ HTTP/1.1",
        "CONNECT bad_host!:443 HTTP/1.1", "CONNECT a..b:443 HTTP/1.1", "CONNECT [127.0.0.1]:443 HTTP/1.1", "GET http://origin.test/ HTTP/2.0",
        "GET  http://origin.test/ HTTP/1.1", "G(T http://origin.test/ HTTP/1.1", "GET http://origin.test/ HTTP/1.1\r\nBad Header: x",
        "GET http://origin.test/ HTTP/1.1\r\n folded: x", "GET http://origin.test/ HTTP/1.1\r\nX: a\rb", "",
    ])
    func refusesMalformedRequests(_ head: String) {
        #expect(throws: ProxyRequestError.self) { try ProxyRequest.parse(head: head) }
    }
}
