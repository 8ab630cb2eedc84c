import Foundation
import ReverieCore

/// The time deployments' schedules are read against. The server uses the system clock; a
/// test can start it with `--schedule-clock-file` to move time by writing a file instead of
/// waiting.
public protocol ScheduleClock: Sendable {
    func now() -> Date
}

/// The system clock.
public struct SystemScheduleClock: ScheduleClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock read from a file holding an RFC 3339 timestamp, re-read on every call (for tests
/// of schedules across restarts). When the file is missing or unreadable, the system clock.
public struct FileScheduleClock: ScheduleClock {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func now() -> Date {
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            let date = Timestamp.parse(text)
        else { return Date() }
        return date
    }
}
