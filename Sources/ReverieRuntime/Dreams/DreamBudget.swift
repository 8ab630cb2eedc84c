/// The dream's token budget: everything sent to the model is counted against it before it
/// is sent, so a dream never sends more than its budget.
public struct DreamBudget: Sendable, Equatable {
    /// Tokens the dream may spend in all (input and output of every call).
    public let total: Int
    public private(set) var spent: Int = 0

    public init(total: Int) {
        self.total = total
    }

    public var remaining: Int { max(0, total - spent) }

    /// A deterministic token estimate (about four characters per token, rounded up).
    public static func estimate(_ text: String) -> Int {
        (text.utf8.count + 3) / 4
    }

    /// Reserves room for a call; false when it does not fit.
    public mutating func reserve(_ tokens: Int) -> Bool {
        guard tokens <= remaining else { return false }
        spent += tokens
        return true
    }

    /// Replaces a reservation with what the call really used (when the model reports it).
    public mutating func settle(reserved: Int, used: Int) {
        spent += used - reserved
    }
}

/// Packs digests into model calls that fit a per-call token limit, compressing sessions
/// harder — and, if they still do not fit the whole budget, leaving some out — and saying
/// which in the report.
public struct DigestPacker: Sendable {
    public struct Packing: Sendable, Equatable {
        public var chunks: [[SessionDigest]]
        /// Sessions summarised harder than normal, with the level used.
        public var compressed: [String: Int]
        /// Sessions left out because even the most compact digests did not fit.
        public var omitted: [String]
    }

    /// Token limit of the digests in one extraction call.
    public var chunkTokens: Int
    /// Token limit of all digests together (what the budget leaves for them).
    public var totalTokens: Int

    public init(chunkTokens: Int, totalTokens: Int) {
        self.chunkTokens = chunkTokens
        self.totalTokens = totalTokens
    }

    /// `make(level)` produces a session's digest at a compression level.
    public func pack(sessionIDs: [String], make: (String, Int) -> SessionDigest) -> Packing {
        var level = 0
        var digests = sessionIDs.map { make($0, 0) }
        var compressed: [String: Int] = [:]
        func size(_ digest: SessionDigest) -> Int { DreamBudget.estimate(digest.text) }
        // Compress the largest digests first, one level at a time, until everything fits.
        while digests.reduce(0, { $0 + size($1) }) > totalTokens, level < SessionDigester.maxLevel {
            level += 1
            digests = digests.map { digest in
                let harder = make(digest.sessionID, level)
                compressed[digest.sessionID] = level
                return harder
            }
        }
        var omitted: [String] = []
        // Still too big: leave out the largest digests (ties broken by id, so it is deterministic).
        while digests.reduce(0, { $0 + size($1) }) > totalTokens, !digests.isEmpty {
            guard let largest = digests.indices.max(by: { lhs, rhs in
                (size(digests[lhs]), digests[rhs].sessionID) < (size(digests[rhs]), digests[lhs].sessionID)
            }) else { break }
            omitted.append(digests.remove(at: largest).sessionID)
        }
        var chunks: [[SessionDigest]] = []
        var current: [SessionDigest] = []
        var currentSize = 0
        for digest in digests {
            var digest = digest
            if size(digest) > chunkTokens {
                // One session larger than a call: keep its newest lines that fit.
                while size(digest) > chunkTokens, !digest.lines.isEmpty { digest.lines.removeFirst() }
                compressed[digest.sessionID] = max(compressed[digest.sessionID] ?? 0, SessionDigester.maxLevel + 1)
            }
            if currentSize + size(digest) > chunkTokens, !current.isEmpty {
                chunks.append(current)
                current = []
                currentSize = 0
            }
            current.append(digest)
            currentSize += size(digest)
        }
        if !current.isEmpty { chunks.append(current) }
        return Packing(chunks: chunks, compressed: compressed, omitted: omitted.sorted())
    }
}
