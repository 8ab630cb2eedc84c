import Crypto
import Foundation

/// A deployment's recurring schedule: a five-field cron expression read on the wall clock of
/// an IANA time zone, at minute granularity.
///
/// Semantics: each fire starts a small per-deployment jitter after its minute (`jitter(for:)`);
/// a wall-clock time that a daylight-saving change skips does not fire, and one it repeats
/// fires twice (once per real instant); occurrences missed while the server was down or the
/// deployment paused are not backfilled.
public struct DeploymentSchedule: Codable, Sendable, Equatable {
    public var cron: CronSchedule
    /// The IANA identifier, e.g. `Europe/Berlin`.
    public var timezone: String
    /// When the most recent scheduled run started (filled in by the store from the run records).
    public var lastRunAt: Date?

    /// The longest jitter a fire may start after its minute.
    public static let maxJitter: TimeInterval = 15

    public init(expression: String, timezone: String) throws(APIError) {
        guard let zone = TimeZone(identifier: timezone), !timezone.isEmpty else {
            throw APIError.invalidRequest("schedule.timezone: '\(timezone)' is not an IANA time zone (e.g. 'UTC', 'America/Los_Angeles')")
        }
        do {
            cron = try CronSchedule(expression)
        } catch {
            throw APIError.invalidRequest("schedule.expression: \(error.message)")
        }
        self.timezone = zone.identifier
    }

    /// The calendar the expression is read in.
    public var calendar: Calendar { CronSchedule.calendar(in: TimeZone(identifier: timezone)) }

    /// The first occurrence after `date`, nil when the expression never matches a real date.
    public func next(after date: Date) -> Date? { cron.next(after: date, in: calendar) }

    /// Up to `count` occurrences after `date`.
    public func upcoming(after date: Date, count: Int = 5) -> [Date] { cron.upcoming(after: date, in: calendar, count: count) }

    /// The per-deployment jitter: a stable fraction of `maxJitter` derived from the id, so
    /// deployments sharing a schedule do not all start in the same second.
    public static func jitter(for deploymentID: String) -> TimeInterval {
        let digest = Array(SHA256.hash(data: Data(deploymentID.utf8)))
        let value = (UInt16(digest[0]) << 8) | UInt16(digest[1])
        return (Double(value) / Double(UInt16.max)) * maxJitter
    }

    enum CodingKeys: String, CodingKey {
        case type, expression, timezone
        case lastRunAt = "last_run_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cron = try CronSchedule(try container.decode(String.self, forKey: .expression))
        timezone = try container.decode(String.self, forKey: .timezone)
        lastRunAt = try container.decodeIfPresent(Date.self, forKey: .lastRunAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("cron", forKey: .type)
        try container.encode(cron.expression, forKey: .expression)
        try container.encode(timezone, forKey: .timezone)
        try container.encode(lastRunAt, forKey: .lastRunAt)
    }

    /// Parses `{type: "cron", expression, timezone}`, checking that the expression fires at all.
    public static func parse(_ value: JSONValue, at field: FieldPath, now: Date) throws(APIError) -> DeploymentSchedule {
        let reader = try ObjectReader(value, at: field)
        try reader.rejectUnknown(["type", "expression", "timezone"])
        guard try reader.requiredString("type") == "cron" else { throw APIError.invalidRequest("\(reader.field("type")): must be 'cron'") }
        let schedule = try DeploymentSchedule(expression: try reader.requiredString("expression"), timezone: try reader.requiredString("timezone"))
        guard schedule.next(after: now) != nil else {
            throw APIError.invalidRequest("\(reader.field("expression")): '\(schedule.cron.expression)' never matches a date (e.g. February 30th)")
        }
        return schedule
    }
}
