import Foundation

/// A five-field cron schedule (`minute hour day-of-month month day-of-week`, UTC): each field
/// `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those. Day of week
/// runs 0–6 from Sunday (7 is Sunday too). As in cron, when both day fields are restricted a
/// day matches if either does.
public struct CronSchedule: Sendable, Equatable, Codable, CustomStringConvertible {
    public let expression: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    public init(_ expression: String) throws(APIError) {
        let fields = expression.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw APIError.invalidRequest("cron schedule '\(expression)': expected 5 fields (minute hour day month weekday)")
        }
        self.expression = fields.joined(separator: " ")
        minutes = try Self.field(fields[0], 0...59, "minute")
        hours = try Self.field(fields[1], 0...23, "hour")
        days = try Self.field(fields[2], 1...31, "day of month")
        months = try Self.field(fields[3], 1...12, "month")
        weekdays = Set(try Self.field(fields[4], 0...7, "day of week").map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    public var description: String { expression }

    /// Whether the schedule fires in the minute holding `date` (UTC).
    public func matches(_ date: Date) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
        guard let minute = parts.minute, let hour = parts.hour, let day = parts.day, let month = parts.month, let weekday = parts.weekday else {
            return false
        }
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        let dayMatches = days.contains(day), weekdayMatches = weekdays.contains(weekday - 1)
        if daysRestricted && weekdaysRestricted { return dayMatches || weekdayMatches }
        return dayMatches && weekdayMatches
    }

    /// Whether it fired in some minute after `start` up to and including `end` (at most a year apart).
    public func fires(after start: Date, through end: Date) -> Bool {
        var minute = (start.timeIntervalSince1970 / 60).rounded(.down) + 1
        let last = (end.timeIntervalSince1970 / 60).rounded(.down)
        let limit = minute + 366 * 24 * 60
        while minute <= last, minute < limit {
            if matches(Date(timeIntervalSince1970: minute * 60)) { return true }
            minute += 1
        }
        return false
    }

    private static func field(_ text: String, _ range: ClosedRange<Int>, _ name: String) throws(APIError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, let base = pieces.first else { throw invalid(text, name) }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw invalid(text, name) }
                step = parsed
            }
            var bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                guard let low = Int(base[..<dash]), let high = Int(base[base.index(after: dash)...]), low <= high else { throw invalid(text, name) }
                bounds = low...high
            } else {
                guard let value = Int(base) else { throw invalid(text, name) }
                bounds = value...(pieces.count == 2 ? range.upperBound : value)
            }
            guard range.contains(bounds.lowerBound), range.contains(bounds.upperBound) else {
                throw APIError.invalidRequest("cron \(name) '\(text)': values must be within \(range.lowerBound)–\(range.upperBound)")
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }

    private static func invalid(_ text: String, _ name: String) -> APIError {
        APIError.invalidRequest("cron \(name) '\(text)': expected *, a number, a range a-b, a step */n or a comma list")
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(expression)
    }
}
