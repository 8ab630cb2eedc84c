import Foundation
import Synchronization

/// Failed console sign-ins by client address: after `limit` failures within `window`, that
/// address's next attempts are refused until the oldest failure is older than the window. A
/// successful sign-in clears the address's failures. Other addresses are unaffected, so a
/// guesser cannot lock people out.
final class SignInThrottle: Sendable {
    let limit: Int
    let window: Duration
    /// At most this many addresses are remembered; the stalest are forgotten first.
    let capacity: Int
    private let failures = Mutex<[String: [ContinuousClock.Instant]]>([:])

    init(limit: Int = 10, window: Duration = .seconds(60), capacity: Int = 10_000) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
    }

    /// How long `address` must wait before its next attempt; nil when it may try now.
    func retryAfter(_ address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        failures.withLock { failures in
            let recent = (failures[address] ?? []).filter { now - $0 < window }
            failures[address] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return window - (now - oldest)
        }
    }

    func failed(_ address: String, now: ContinuousClock.Instant = .now) {
        failures.withLock { failures in
            if failures[address] == nil, failures.count >= capacity {
                // Forget the address whose latest failure is oldest.
                if let stalest = failures.min(by: { ($0.value.last ?? now) < ($1.value.last ?? now) })?.key {
                    failures[stalest] = nil
                }
            }
            failures[address, default: []].append(now)
            if failures[address, default: []].count > limit { failures[address]?.removeFirst() }
        }
    }

    func succeeded(_ address: String) {
        _ = failures.withLock { $0.removeValue(forKey: address) }
    }
}
