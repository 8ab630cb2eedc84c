import ReverieCore

/// Simulates the Messages API's prompt cache, so usage reports what caching saves: the request
/// is read as the API orders its prefix (tools, then system, then messages, block by block);
/// each block carrying `cache_control` ends a cacheable prefix. The longest prefix seen before
/// is read from the cache, the rest up to the last breakpoint is written to it. Prefixes are
/// compared without their `cache_control` markers (moving a breakpoint does not change the
/// content), and sizes are bytes / 4 like the mock's other token counts. Unlike the real API,
/// prefixes of any length are cached and entries never expire.
struct MockPromptCache: Sendable {
    /// One cacheable prefix of a request.
    struct Breakpoint: Sendable, Equatable {
        /// Identifies the prefix's content.
        var key: Int
        /// The prefix's size in bytes.
        var bytes: Int
    }

    /// The breakpoints of an Anthropic request body, in order.
    static func breakpoints(_ body: JSONValue) -> [Breakpoint] {
        var hasher = Hasher()
        var bytes = 0
        var breakpoints: [Breakpoint] = []
        func consume(_ piece: JSONValue, marker: String) {
            var stripped = piece
            let marked = piece["cache_control"] != nil
            if case .object(var object) = stripped {
                object.removeValue(forKey: "cache_control")
                stripped = .object(object)
            }
            let text = marker + ((try? JSONCoding.string(stripped)) ?? "")
            hasher.combine(text)
            bytes += text.utf8.count
            if marked {
                let snapshot = hasher
                breakpoints.append(Breakpoint(key: snapshot.finalize(), bytes: bytes))
            }
        }
        for tool in body["tools"]?.arrayValue ?? [] { consume(tool, marker: "tool:") }
        if let system = body["system"] {
            if let blocks = system.arrayValue {
                for block in blocks { consume(block, marker: "system:") }
            } else {
                consume(system, marker: "system:")
            }
        }
        for message in body["messages"]?.arrayValue ?? [] {
            let role = message["role"]?.stringValue ?? ""
            if let blocks = message["content"]?.arrayValue {
                for (index, block) in blocks.enumerated() { consume(block, marker: index == 0 ? "\(role):" : "+") }
            } else if let content = message["content"] {
                consume(content, marker: "\(role):")
            }
        }
        return breakpoints
    }

    /// Bytes of a request's prefix read from, and written to, the cache.
    struct Lookup: Sendable, Equatable {
        var readBytes: Int
        var writtenBytes: Int
    }
}

extension MockPromptCache {
    /// The cache's entries: keys of prefixes written so far.
    struct Entries: Sendable {
        private var keys: Set<Int> = []

        /// Looks a request's breakpoints up and writes the ones missing.
        mutating func lookUp(_ breakpoints: [Breakpoint]) -> Lookup {
            guard let last = breakpoints.last else { return Lookup(readBytes: 0, writtenBytes: 0) }
            let read = breakpoints.filter { keys.contains($0.key) }.map(\.bytes).max() ?? 0
            for breakpoint in breakpoints { keys.insert(breakpoint.key) }
            return Lookup(readBytes: read, writtenBytes: max(0, last.bytes - read))
        }
    }
}
