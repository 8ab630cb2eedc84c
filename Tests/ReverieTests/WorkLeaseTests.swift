import Foundation
import ReverieCore
import Testing

/// The lease rules of a work item as pure transitions (the store applies each in one write).
@Suite(.timeLimit(.minutes(3))) struct WorkLeaseTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func item() -> WorkItem {
        WorkItem(id: "work_1", environmentID: "env_1", sessionID: "sesn_1", createdAt: start, leaseTTLSeconds: 10)
    }

    @Test func aQueuedItemIsHandedOutOnceUntilTheReclaimWindowPasses() {
        let queued = item()
        #expect(queued.claimable(at: start, reclaimAfter: 5))
        let polled = queued.claimed(by: "w1", at: start, secretHash: "h1")
        #expect(polled.state == .queued && polled.polledBy == "w1" && polled.secretHash == "h1")
        #expect(!polled.claimable(at: start.addingTimeInterval(4.9), reclaimAfter: 5))
        #expect(polled.claimable(at: start.addingTimeInterval(5), reclaimAfter: 5))
    }

    @Test func anAcknowledgedLeaseLapsesAfterItsTTLAndAReclaimStartsOver() throws {
        let acked = try item().acknowledged(at: start, ttlSeconds: 10)
        #expect(acked.state == .starting && acked.leaseExpiresAt == start.addingTimeInterval(10))
        #expect(try acked.acknowledged(at: start.addingTimeInterval(1), ttlSeconds: 10) == acked, "acknowledging again changes nothing")
        #expect(!acked.claimable(at: start.addingTimeInterval(9.9), reclaimAfter: 5))
        let (active, beat) = try acked.heartbeat(expected: WorkItem.noHeartbeat, ttlSeconds: 10, at: start.addingTimeInterval(2))
        #expect(active.state == .active && beat.leaseExtended && active.startedAt != nil)
        #expect(!active.claimable(at: start.addingTimeInterval(11), reclaimAfter: 5), "the heartbeat moved the lease on")
        #expect(active.claimable(at: start.addingTimeInterval(12), reclaimAfter: 5))
        let reclaimed = active.claimed(by: "w2", at: start.addingTimeInterval(12), secretHash: "h2")
        #expect(reclaimed.state == .queued && reclaimed.latestHeartbeatAt == nil && reclaimed.leaseExpiresAt == nil)
        // The first holder's heartbeat now fails its precondition, with the lease as the server holds it.
        #expect {
            try reclaimed.heartbeat(expected: beat.lastHeartbeat, ttlSeconds: 10, at: start.addingTimeInterval(13))
        } throws: { error in
            guard let error = error as? APIError else { return false }
            return error.kind == .preconditionFailed && error.details?["error_code"] == "heartbeat_precondition_failed"
                && error.details?["current_state"]?["state"] == "queued" && error.details?["current_state"]?["lease_extended"] == false
        }
    }

    @Test func heartbeatsCompareTheLastOneExactlyAndAlwaysMoveForward() throws {
        let acked = try item().acknowledged(at: start, ttlSeconds: 10)
        let (first, one) = try acked.heartbeat(expected: WorkItem.noHeartbeat, ttlSeconds: 10, at: start)
        #expect(throws: APIError.self) { try first.heartbeat(expected: WorkItem.noHeartbeat, ttlSeconds: 10, at: start) }
        // Two heartbeats in the same microsecond still get distinct values, so an echo is never ambiguous.
        let (second, two) = try first.heartbeat(expected: one.lastHeartbeat, ttlSeconds: 20, at: start)
        #expect(two.lastHeartbeat != one.lastHeartbeat && two.ttlSeconds == 20)
        #expect(second.leaseExpiresAt == start.addingTimeInterval(20))
        // No condition: renews whoever asks.
        #expect(try second.heartbeat(expected: nil, ttlSeconds: 10, at: start.addingTimeInterval(1)).1.leaseExtended)
    }

    @Test func stoppingAndStoppedItemsReportWithoutComparing() throws {
        let (active, _) = try item().acknowledged(at: start, ttlSeconds: 10).heartbeat(expected: nil, ttlSeconds: 10, at: start)
        let stopping = try active.stopped(force: false, at: start.addingTimeInterval(1))
        #expect(stopping.state == .stopping && stopping.stopRequestedAt != nil && stopping.stoppedAt == nil)
        let (same, report) = try stopping.heartbeat(expected: "not-the-value", ttlSeconds: 10, at: start.addingTimeInterval(2))
        #expect(same == stopping && !report.leaseExtended && report.state == .stopping)
        // A stopping item whose worker went away stops when its lease lapses.
        #expect(stopping.settled(at: start.addingTimeInterval(9)).state == .stopping)
        #expect(stopping.settled(at: start.addingTimeInterval(10)).state == .stopped)
        let stopped = try stopping.stopped(force: true, at: start.addingTimeInterval(3))
        #expect(stopped.state == .stopped && stopped.secretHash == nil && !stopped.isLive)
        #expect(throws: APIError.conflict("work 'work_1' is already stopped")) { try stopped.stopped(force: true, at: start) }
        #expect(throws: APIError.self) { try stopped.acknowledged(at: start, ttlSeconds: 10) }
        #expect(!stopped.claimable(at: start.addingTimeInterval(100), reclaimAfter: 0))
        // An item no worker runs yet stops at once, even without force.
        #expect(try item().stopped(force: false, at: start).state == .stopped)
    }

    @Test func theItemEncodesAsTheSDKReadsIt() throws {
        var polled = item().claimed(by: "w1", at: start, secretHash: "h")
        polled.secret = "c2VjcmV0"
        polled.metadata = ["k": "v"]
        let json = try JSONCoding.decode(JSONValue.self, from: JSONCoding.data(polled))
        #expect(json["type"] == "work" && json["state"] == "queued" && json["data"] == ["type": "session", "id": "sesn_1"])
        #expect(json["secret"] == "c2VjcmV0" && json["metadata"] == ["k": "v"] && json["acknowledged_at"] == .null)
        #expect(json["created_at"] == .string(Timestamp.format(start)))
        // Lease bookkeeping is never shown.
        #expect(json["polled_by"] == nil && json["secret_hash"] == nil && json["lease_expires_at"] == nil)
    }
}
