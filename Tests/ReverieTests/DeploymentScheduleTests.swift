import Foundation
import Testing
@testable import ReverieCore

/// Cron schedules read on an IANA time zone's wall clock, across daylight-saving changes.
@Suite struct DeploymentScheduleTests {
    func date(_ text: String) throws -> Date {
        guard let date = Timestamp.parse(text) else { throw TestFailure("bad date \(text)") }
        return date
    }

    @Test func readsTheWallClockOfItsTimeZone() throws {
        let schedule = try DeploymentSchedule(expression: "0 9 * * 1-5", timezone: "America/New_York")
        // Monday 2026-11-30, 09:00 EST is 14:00 UTC; the next is Tuesday's.
        let upcoming = schedule.upcoming(after: try date("2026-11-30T00:00:00Z"), count: 2)
        #expect(upcoming == [try date("2026-11-30T14:00:00Z"), try date("2026-12-01T14:00:00Z")])
        // Friday's 09:00 is followed by Monday's, not the weekend's.
        #expect(schedule.next(after: try date("2026-12-04T14:00:00Z")) == (try date("2026-12-07T14:00:00Z")))
    }

    @Test func aSkippedSpringForwardTimeDoesNotFire() throws {
        // Los Angeles springs forward at 02:00 on Sunday 2027-03-14: 02:30 does not exist that day.
        let schedule = try DeploymentSchedule(expression: "30 2 * * *", timezone: "America/Los_Angeles")
        let upcoming = schedule.upcoming(after: try date("2027-03-13T00:00:00Z"), count: 3)
        #expect(upcoming == [try date("2027-03-13T10:30:00Z"), try date("2027-03-15T09:30:00Z"), try date("2027-03-16T09:30:00Z")])
    }

    @Test func aRepeatedFallBackTimeFiresTwice() throws {
        // Los Angeles falls back at 02:00 on Sunday 2026-11-01: 01:30 happens at 08:30 and 09:30 UTC.
        let schedule = try DeploymentSchedule(expression: "30 1 * * *", timezone: "America/Los_Angeles")
        let upcoming = schedule.upcoming(after: try date("2026-11-01T00:00:00Z"), count: 3)
        #expect(upcoming == [try date("2026-11-01T08:30:00Z"), try date("2026-11-01T09:30:00Z"), try date("2026-11-02T09:30:00Z")])
    }

    @Test func everyMinuteAndHalfHourZones() throws {
        let everyMinute = try DeploymentSchedule(expression: "* * * * *", timezone: "UTC")
        let start = try date("2026-11-30T10:00:30Z")
        #expect(everyMinute.upcoming(after: start, count: 3) == [
            try date("2026-11-30T10:01:00Z"), try date("2026-11-30T10:02:00Z"), try date("2026-11-30T10:03:00Z"),
        ])
        // Kolkata is UTC+05:30: its 09:00 is 03:30 UTC.
        let kolkata = try DeploymentSchedule(expression: "0 9 * * *", timezone: "Asia/Kolkata")
        #expect(kolkata.next(after: try date("2026-11-30T00:00:00Z")) == (try date("2026-11-30T03:30:00Z")))
        // Leap days only.
        let leap = try DeploymentSchedule(expression: "0 12 29 2 *", timezone: "UTC")
        #expect(leap.next(after: try date("2026-11-30T00:00:00Z")) == (try date("2028-02-29T12:00:00Z")))
    }

    @Test func badSchedulesAreRefusedClearly() throws {
        func refusal(_ value: JSONValue) -> String? {
            do {
                _ = try DeploymentSchedule.parse(value, at: FieldPath("schedule"), now: Date())
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(["type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Olympus"])?.contains("IANA") == true)
        #expect(refusal(["type": "cron", "expression": "0 0 30 2 *", "timezone": "UTC"])?.contains("never matches") == true)
        #expect(refusal(["type": "cron", "expression": "@daily", "timezone": "UTC"])?.contains("5 fields") == true)
        #expect(refusal(["type": "cron", "expression": "0 9 L * *", "timezone": "UTC"]) != nil)
        #expect(refusal(["type": "cron", "expression": "0 9 * * *"])?.contains("timezone") == true)
        #expect(refusal(["type": "interval", "expression": "0 9 * * *", "timezone": "UTC"])?.contains("cron") == true)
        #expect(refusal(["type": "cron", "expression": "0 9 * * 7", "timezone": "UTC"]) == nil)
    }

    @Test func jitterIsSmallStableAndSpread() {
        let ids = (0..<200).map { "depl_\($0)" }
        let jitters = ids.map(DeploymentSchedule.jitter(for:))
        #expect(jitters.allSatisfy { $0 >= 0 && $0 <= DeploymentSchedule.maxJitter })
        #expect(DeploymentSchedule.jitter(for: "depl_7") == DeploymentSchedule.jitter(for: "depl_7"))
        #expect(Set(jitters.map { Int($0) }).count > 10)
    }
}
