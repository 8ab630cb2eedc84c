import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ReverieCore

extension Console {
    /// The security headers every console response carries: a Content-Security-Policy that
    /// allows scripts, styles and connections from this origin only (no inline script, no
    /// framing), no MIME sniffing, no referrer outside this origin, no caching of pages.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.consoleContentSecurityPolicy,
         "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'"),
        (.xContentTypeOptions, "nosniff"),
        (.xFrameOptions, "DENY"),
        (.referrerPolicy, "same-origin"),
        (.crossOriginOpenerPolicy, "same-origin"),
    ]

    func securedResponse(_ response: Response) -> Response {
        var response = response
        for (name, value) in Self.securityHeaders { response.headers[name] = value }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// A whole page: `template` rendered with `data`, inside the layout.
    func page(_ template: String, title: String, section: ConsoleSection?, signedIn: SignedIn?, data: [String: Any], status: HTTPResponse.Status = .ok)
        -> Response
    {
        var data = data
        if let signedIn { data["csrf"] = signedIn.csrf }
        let body = templates.render(template, data)
        let layout: [String: Any] = [
            "title": title, "body": body, "signedIn": signedIn != nil, "csrf": signedIn?.csrf ?? "",
            "nav": ConsoleSection.allCases.map { ["href": "/console/\($0.rawValue)", "label": $0.label, "current": $0 == section] },
        ]
        return html(templates.render("layout", layout), status: status)
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        securedResponse(Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text))))
    }

    func errorPage(_ error: any Error, signedIn: SignedIn?, logger: Logger? = nil) -> Response {
        let (status, message) = describeError(error)
        if status >= 500 { logger?.error("console request failed", metadata: ["error": "\(String(reflecting: error))"]) }
        return page(
            "error", title: "Error \(status)", section: nil, signedIn: signedIn,
            data: ["status": status, "message": message], status: HTTPResponse.Status(code: status))
    }

    /// The expected origin's host, from the request's `Host` header.
    static func host(of request: Request) -> String? {
        request.head.authority ?? request.headers[.consoleHost]
    }

    /// True when the browser says the request came from this origin: `Sec-Fetch-Site`, when
    /// sent, must be `same-origin`, and `Origin`, when sent, must name this host. A request
    /// with neither header is not a browser's cross-site request (browsers send both on a
    /// cross-site POST); the CSRF token still has to match.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[.secFetchSite], site != "same-origin" { return false }
        if let origin = request.headers[.origin] {
            guard let host = host(of: request), let url = URL(string: origin), let originHost = url.host else { return false }
            let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
            guard originAuthority.lowercased() == host.lowercased() else { return false }
        }
        return true
    }

    /// Whether the session cookie must be `Secure`: configured so, or the request came through
    /// a TLS-terminating proxy.
    func secureCookie(for request: Request) -> Bool {
        configuration.secureCookie || request.headers[.xForwardedProto]?.lowercased() == "https"
    }

    /// The signed-in session of a request, or nil. A session whose API key no longer verifies
    /// (revoked) is ended.
    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let id = SessionCookie.value(in: request.headers), let session = signIns.session(id: id) else { return nil }
        guard let keyID = try await verifyKey(session.apiKey), keyID == session.apiKeyID else {
            signIns.remove(id: id)
            return nil
        }
        return SignedIn(session: session)
    }

    /// Runs a page handler for a signed-in browser; anyone else is sent to sign in.
    func guardedPage(_ request: Request, _ context: some RequestContext, _ handler: (SignedIn) async throws -> Response) async -> Response {
        let signedIn: SignedIn
        do {
            guard let found = try await self.signedIn(request) else {
                let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                return securedResponse(Self.redirect(to: "/console/sign-in?next=" + urlEncoded(next)))
            }
            signedIn = found
        } catch {
            return errorPage(error, signedIn: nil, logger: context.logger)
        }
        do {
            return securedResponse(try await handler(signedIn))
        } catch {
            return errorPage(error, signedIn: signedIn, logger: context.logger)
        }
    }

    /// Runs a state-changing handler: only for a signed-in browser, from this origin, with the
    /// session's CSRF token in the form's `csrf` field (or the `X-CSRF-Token` header).
    func guardedAction(_ request: Request, _ context: some RequestContext, _ handler: (SignedIn, FormBody) async throws -> Response)
        async -> Response
    {
        let signedIn: SignedIn
        let form: FormBody
        do {
            guard let found = try await self.signedIn(request) else {
                return page("error", title: "Sign in first", section: nil, signedIn: nil,
                            data: ["status": 401, "message": "Sign in to the console first.", "signIn": true], status: .unauthorized)
            }
            signedIn = found
            guard Self.isSameOrigin(request) else { return forbidden(signedIn, "This request did not come from the console's own pages.") }
            form = FormBody(String(buffer: try await request.body.collect(upTo: 1 << 20)))
            let token = form.string("csrf") ?? request.headers[.csrfToken] ?? ""
            guard ConsoleSessionStore.constantTimeEqual(token, signedIn.csrf) else {
                return forbidden(signedIn, "The form's CSRF token is missing or does not match this sign-in. Reload the page and try again.")
            }
        } catch {
            return errorPage(error, signedIn: nil, logger: context.logger)
        }
        do {
            return securedResponse(try await handler(signedIn, form))
        } catch {
            return errorPage(error, signedIn: signedIn, logger: context.logger)
        }
    }

    private func forbidden(_ signedIn: SignedIn?, _ message: String) -> Response {
        page("error", title: "Refused", section: nil, signedIn: signedIn, data: ["status": 403, "message": message], status: .forbidden)
    }

    /// Where to return after an action: the form's `back` path when it is a console path, else `fallback`.
    static func back(_ form: FormBody, fallback: String) -> Response {
        if let back = form.string("back"), back.hasPrefix("/console/"), !back.hasPrefix("//"), !back.contains("\\") {
            return redirect(to: back)
        }
        return redirect(to: fallback)
    }
}

extension HTTPField.Name {
    static let consoleContentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let consoleHost = HTTPField.Name("Host")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let crossOriginOpenerPolicy = HTTPField.Name("Cross-Origin-Opener-Policy")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let consoleLastEventID = HTTPField.Name("Last-Event-ID")!
}
