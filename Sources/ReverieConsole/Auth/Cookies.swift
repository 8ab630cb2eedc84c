import Foundation
import HTTPTypes

/// The console's session cookie.
enum SessionCookie {
    static let name = "reverie_console"

    /// The value of the console cookie in a request's `Cookie` headers.
    static func value(in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == name else { continue }
                return pair[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// `Set-Cookie` for a sign-in: HttpOnly, SameSite=Strict, scoped to `/console`.
    static func set(_ value: String, maxAge: Duration, secure: Bool) -> String {
        "\(name)=\(value); Path=/console; Max-Age=\(maxAge.components.seconds); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that removes the cookie.
    static func clear(secure: Bool) -> String {
        "\(name)=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }
}
