import NIOCore

/// Masks a session's secrets in what an intercepted destination answers, so that a host that
/// echoes a request back (its headers, its body) does not hand the agent the secret it was sent.
/// Each occurrence becomes as many `*` as it has bytes, so lengths and chunk framing still hold.
///
/// It sees only the bytes as sent: a secret the destination encodes (compresses, base64s,
/// reverses) passes. See docs/egress-credentials.md.
struct SecretRedactor: Sendable {
    private let secrets: [[UInt8]]
    /// Bytes held back from the last chunk: the start of a secret may end there.
    private var carry: [UInt8] = []
    private let keep: Int

    init(secrets: [String]) {
        self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).map { Array($0.utf8) }.sorted { $0.count > $1.count }
        keep = max(0, (self.secrets.map(\.count).max() ?? 1) - 1)
    }

    /// Whether there is anything to mask.
    var isEmpty: Bool { secrets.isEmpty }

    /// The next part of the stream, masked, minus a tail held back until more arrives or `finish()`.
    mutating func next(_ buffer: ByteBuffer) -> ByteBuffer {
        guard !secrets.isEmpty else { return buffer }
        var bytes = carry + Array(buffer.readableBytesView)
        mask(&bytes)
        let emitted = max(0, bytes.count - keep)
        carry = Array(bytes[emitted...])
        return ByteBuffer(bytes: bytes[..<emitted])
    }

    /// Whatever was held back.
    mutating func finish() -> ByteBuffer {
        defer { carry = [] }
        return ByteBuffer(bytes: carry)
    }

    /// Masks a whole piece of text at once (a response head).
    func masked(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var bytes = Array(text.utf8)
        mask(&bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private func mask(_ bytes: inout [UInt8]) {
        for secret in secrets {
            bytes = ByteReplacement.replacing(secret, with: [UInt8](repeating: UInt8(ascii: "*"), count: secret.count), in: bytes)
        }
    }
}
