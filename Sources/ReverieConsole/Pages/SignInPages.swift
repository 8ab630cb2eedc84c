import Foundation
import Hummingbird
import NIOCore

extension Console {
    /// `GET/POST /console/sign-in` and `POST /console/sign-out`.
    func registerSignIn<Context: RemoteAddressRequestContext>(on router: Router<Context>) {
        router.get("console/sign-in") { request, _ in
            let next = Self.safeNext(request.uri.queryParameters.get("next"))
            return self.page("sign_in", title: "Sign in", section: nil, signedIn: nil, data: ["next": next])
        }
        router.post("console/sign-in") { request, context in
            // A cross-site form could otherwise sign a victim in under the attacker's key.
            guard Self.isSameOrigin(request) else {
                return self.page("error", title: "Refused", section: nil, signedIn: nil,
                                 data: ["status": 403, "message": "This sign-in did not come from the console's own page."], status: .forbidden)
            }
            let form: FormBody
            do {
                form = FormBody(String(buffer: try await request.body.collect(upTo: 64 * 1024)))
            } catch {
                return self.errorPage(error, signedIn: nil)
            }
            let next = Self.safeNext(form.string("next"))
            let address = context.remoteAddress?.ipAddress ?? "unknown"
            if let wait = self.signInThrottle.retryAfter(address) {
                let seconds = max(1, Int(wait.components.seconds) + 1)
                var response = self.page("sign_in", title: "Sign in", section: nil, signedIn: nil,
                                         data: ["next": next, "throttled": true, "retrySeconds": seconds], status: .tooManyRequests)
                response.headers[.retryAfter] = "\(seconds)"
                return response
            }
            let key = form.nonEmpty("api_key") ?? ""
            let keyID: String?
            do {
                keyID = key.isEmpty ? nil : try await self.verifyKey(key)
            } catch {
                return self.errorPage(error, signedIn: nil)
            }
            guard let keyID else {
                self.signInThrottle.failed(address)
                return self.page("sign_in", title: "Sign in", section: nil, signedIn: nil,
                                 data: ["next": next, "failed": true], status: .unauthorized)
            }
            self.signInThrottle.succeeded(address)
            let session = self.signIns.create(apiKey: key, apiKeyID: keyID)
            var response = Self.redirect(to: next)
            response.headers[.setCookie] = SessionCookie.set(session.id, maxAge: self.configuration.sessionTTL, secure: self.secureCookie(for: request))
            return self.securedResponse(response)
        }
        router.post("console/sign-out") { request, context in
            await self.guardedAction(request, context) { signedIn, _ in
                self.signIns.remove(id: signedIn.session.id)
                var response = Self.redirect(to: "/console/sign-in")
                response.headers[.setCookie] = SessionCookie.clear(secure: self.secureCookie(for: request))
                return response
            }
        }
    }

    /// Where to go after signing in: a console path, never another site.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/console/"), !next.hasPrefix("//"), !next.contains("\\"), !next.contains("\n"), !next.contains("\r")
        else { return "/console/sessions" }
        return next
    }
}
