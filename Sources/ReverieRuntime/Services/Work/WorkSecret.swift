import Foundation

/// The per-item `secret` a poll hands out: URL-safe base64 of `{"sessions_token": …}`, as the
/// SDK's worker decodes it. The sessions token is a credential for this one item's heartbeat
/// and stop and its session's events; it stops working when the item stops or another poll
/// hands the item out again.
enum WorkSecret {
    static func makeSessionsToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        return "rvwt_" + String((0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    static func payload(sessionsToken: String) -> String {
        let json = #"{"sessions_token":""# + sessionsToken + #""}"#
        return Data(json.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
