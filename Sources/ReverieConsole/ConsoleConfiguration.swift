/// Settings of the web console served at `/console`.
public struct ConsoleConfiguration: Sendable {
    /// How long a console sign-in lasts without being used; each request renews it.
    public var sessionTTL: Duration
    /// Always mark the session cookie `Secure`. Without it the cookie is `Secure` only when the
    /// request came through a TLS-terminating proxy (`X-Forwarded-Proto: https`).
    public var secureCookie: Bool
    /// Events rendered on a session's first screen; earlier ones are a link away and later
    /// ones stream in.
    public var timelineWindow: Int

    public init(sessionTTL: Duration = .seconds(8 * 3600), secureCookie: Bool = false, timelineWindow: Int = 200) {
        self.sessionTTL = sessionTTL
        self.secureCookie = secureCookie
        self.timelineWindow = timelineWindow
    }
}
