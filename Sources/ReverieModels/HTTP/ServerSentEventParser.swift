/// One Server-Sent Event: its `event:` name (empty when absent) and its `data:` lines joined.
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String
    public var data: String
}

/// Incrementally splits a byte stream into Server-Sent Events (WHATWG rules: `\n`, `\r\n`
/// or `\r` line ends, `:` comments, several `data:` lines joined with `\n`, an event ends
/// at a blank line). Feed it chunks as they arrive; events split across chunks are kept.
public struct ServerSentEventParser: Sendable {
    public init() {}

    private var line: [UInt8] = []
    private var lastWasCR = false
    private var eventName = ""
    private var dataLines: [String] = []
    private var hasData = false

    /// Consumes `bytes` and returns the events they complete.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [ServerSentEvent] where Bytes.Element == UInt8 {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    /// Completes a final event when the stream ends without its blank line.
    public mutating func finish() -> ServerSentEvent? {
        if !line.isEmpty { _ = endLine() }
        return endLine()
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData || !eventName.isEmpty else { return nil }
            let event = ServerSentEvent(event: eventName, data: dataLines.joined(separator: "\n"))
            eventName = ""
            dataLines.removeAll()
            hasData = false
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let field: String
        let value: String
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = String(decoding: line[..<colon], as: UTF8.self)
            var start = line.index(after: colon)
            if start < line.endIndex, line[start] == UInt8(ascii: " ") { start = line.index(after: start) }
            value = String(decoding: line[start...], as: UTF8.self)
        } else {
            field = String(decoding: line, as: UTF8.self)
            value = ""
        }
        switch field {
        case "event": eventName = value
        case "data":
            dataLines.append(value)
            hasData = true
        default: break
        }
        return nil
    }
}
