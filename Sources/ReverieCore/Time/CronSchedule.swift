import Foundation

/// A five-field cron schedule (`minute hour day-of-month month day-of-week`, read in UTC unless
/// a calendar in another time zone is given): each field
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

    /// A Gregorian calendar in `timeZone` (UTC by default), as `matches` and `next` read dates.
    public static func calendar(in timeZone: TimeZone? = nil) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone ?? TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar
    }

    /// Whether the schedule fires in the minute holding `date`, read on the wall clock of
    /// `calendar`'s time zone (UTC by default).
    public func matches(_ date: Date, in calendar: Calendar = CronSchedule.calendar()) -> Bool {
        let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: date)
        guard let minute = parts.minute, let hour = parts.hour else { return false }
        return minutes.contains(minute) && hours.contains(hour) && dayMatches(parts)
    }

    private func dayMatches(_ parts: DateComponents) -> Bool {
        guard let day = parts.day, let month = parts.month, let weekday = parts.weekday, months.contains(month) else { return false }
        let dayMatches = days.contains(day), weekdayMatches = weekdays.contains(weekday - 1)
        if daysRestricted && weekdaysRestricted { return dayMatches || weekdayMatches }
        return dayMatches && weekdayMatches
    }

    /// Whether it fired in some minute after `start` up to and including `end` (at most a year apart).
    public func fires(after start: Date, through end: Date) -> Bool {
        guard let next = next(after: start) else { return false }
        return next <= end
    }

    /// The first whole minute after `date` at which the schedule fires, read on the wall clock
    /// of `calendar`'s time zone, or nil when none comes within `horizon` (about five years).
    ///
    /// Minutes are walked in real (UTC) time, so wall-clock times a daylight-saving change
    /// skips never match, and times it repeats match twice, once per real instant.
    public func next(after date: Date, in calendar: Calendar = CronSchedule.calendar(), horizon: TimeInterval = 5 * 366 * 86_400) -> Date? {
        var minute = ((date.timeIntervalSince1970 / 60).rounded(.down) + 1) * 60
        let limit = date.timeIntervalSince1970 + horizon
        while minute <= limit {
            let instant = Date(timeIntervalSince1970: minute)
            let parts = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: instant)
            guard let wallMinute = parts.minute, let wallHour = parts.hour else { return nil }
            if !dayMatches(parts) {
                // On to the next local midnight (the calendar knows days of 23 or 25 hours).
                let today = calendar.startOfDay(for: instant)
                guard let tomorrow = calendar.date(byAdding: .day, value: 1, to: today) else { return nil }
                minute = max(minute + 60, calendar.startOfDay(for: tomorrow).timeIntervalSince1970)
            } else if !hours.contains(wallHour) {
                minute += Double(60 - wallMinute) * 60
            } else if !minutes.contains(wallMinute) {
                minute += 60
            } else {
                return instant
            }
        }
        return nil
    }

    /// Up to `count` firing minutes after `date` (see `next(after:in:)`).
    public func upcoming(after date: Date, in calendar: Calendar = CronSchedule.calendar(), count: Int) -> [Date] {
        var result: [Date] = []
        var cursor = date
        while result.count < count, let next = next(after: cursor, in: calendar) {
            result.append(next)
            cursor = next
        }
        return result
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
