import Foundation
import NIOCore

/// The credentials that apply to one destination host, and the replacements they make in a
/// request to it: placeholder → secret in header values and/or the body, per credential.
struct CredentialSubstitution: Sendable {
    /// The credentials whose hosts include the destination.
    let credentials: [EgressCredential]
    /// Every secret of the session, masked in what the destination sends back.
    let sessionSecrets: [String]

    init(credentials: [EgressCredential], host: String) {
        self.credentials = credentials.filter { $0.applies(to: host) }
        self.sessionSecrets = credentials.map(\.secret)
    }

    /// Whether any credential applies (the destination's requests are then read and rewritten).
    var isEmpty: Bool { credentials.isEmpty }

    /// Whether the request body must be read whole to substitute in it.
    var substitutesBody: Bool { credentials.contains { $0.injection.body } }

    /// A header field value with the header-injected placeholders replaced. `Authorization: Basic`
    /// credentials are decoded, substituted and encoded again (`curl -u user:$TOKEN`).
    func header(name: String, value: String) -> String {
        // A secret that would break the header's framing (CR, LF, NUL) is never put in one.
        let inHeaders = credentials.filter { $0.injection.header && !$0.secret.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 } }
        guard !inHeaders.isEmpty else { return value }
        var result = value
        for credential in inHeaders { result = result.replacingOccurrences(of: credential.placeholder, with: credential.secret) }
        if name.lowercased() == "authorization" || name.lowercased() == "proxy-authorization",
            let space = result.firstIndex(of: " "), result[..<space].lowercased() == "basic",
            let decoded = Data(base64Encoded: result[result.index(after: space)...].trimmingCharacters(in: .whitespaces)),
            var text = String(data: decoded, encoding: .utf8)
        {
            let original = text
            for credential in inHeaders { text = text.replacingOccurrences(of: credential.placeholder, with: credential.secret) }
            if text != original { result = String(result[...space]) + Data(text.utf8).base64EncodedString() }
        }
        return result
    }

    /// The body with the body-injected placeholders replaced.
    func body(_ body: ByteBuffer) -> ByteBuffer {
        let inBody = credentials.filter(\.injection.body)
        guard !inBody.isEmpty, body.readableBytes > 0 else { return body }
        var bytes = Array(body.readableBytesView)
        for credential in inBody {
            bytes = ByteReplacement.replacing(Array(credential.placeholder.utf8), with: Array(credential.secret.utf8), in: bytes)
        }
        return ByteBuffer(bytes: bytes)
    }
}

/// Replaces every occurrence of a byte string in another.
enum ByteReplacement {
    static func replacing(_ target: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard !target.isEmpty, bytes.count >= target.count else { return bytes }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        let last = bytes.count - target.count
        while index < bytes.count {
            if index <= last, bytes[index] == target[0], bytes[index..<(index + target.count)].elementsEqual(target) {
                result += replacement
                index += target.count
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }
}
