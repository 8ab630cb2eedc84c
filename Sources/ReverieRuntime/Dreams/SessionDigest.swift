import Foundation
import ReverieCore

/// A compact, deterministic account of one session for a dream to read: what the user
/// asked, what the agent decided, which tools failed and were retried, where the user
/// corrected the agent, how outcomes were graded, and how the session ended.
///
/// Each line cites the event it rests on by a short reference (`e12`) that maps back to the
/// event id, so lessons can carry evidence without spending tokens on long ids.
public struct SessionDigest: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var reference: String
        public var eventID: String
        public var text: String
        /// The line quotes the session user's own words (a message, an outcome, a denial).
        public var byUser: Bool = false
    }

    /// Text removed because it tried to instruct the dreamer.
    public typealias Quarantined = QuarantinedText

    public var sessionID: String
    /// The label the dream uses for the session (`S1`, `S2`, …).
    public var label: String
    public var header: [String]
    public var lines: [Line]
    public var quarantined: [Quarantined]
    /// Characters of the raw event log this digest summarizes.
    public var rawCharacters: Int
    /// How hard it was compressed (0 normal, 1 harder, 2 hardest).
    public var level: Int

    /// The digest as the model reads it.
    public var text: String {
        var output = "## Session \(label) (\(sessionID))\n"
        for line in header { output += line + "\n" }
        for line in lines { output += "\(line.reference) \(line.text)\n" }
        return output
    }

    /// The event id a reference names, if the reference is from this digest.
    public func eventID(for reference: String) -> String? {
        lines.first { $0.reference == reference || $0.eventID == reference }?.eventID
    }

    /// Every event id cited by a line.
    public var eventIDs: Set<String> { Set(lines.map(\.eventID)) }

    /// The event as this digest showed it (every line citing it, joined).
    public func quote(of eventID: String) -> String {
        lines.filter { $0.eventID == eventID }.map(\.text).joined(separator: " ")
    }

    /// Whether the event holds the session user's own words.
    public func isByUser(_ eventID: String) -> Bool {
        lines.contains { $0.eventID == eventID && $0.byUser }
    }
}

/// Builds digests from event logs.
public struct SessionDigester: Sendable {
    /// Character limits per kind of text, by compression level.
    struct Limits {
        var user: Int
        var agent: Int
        var toolInput: Int
        var toolError: Int
        var toolOutput: Int
    }

    static let levels: [Limits] = [
        Limits(user: 1200, agent: 800, toolInput: 200, toolError: 500, toolOutput: 0),
        Limits(user: 500, agent: 300, toolInput: 80, toolError: 240, toolOutput: 0),
        Limits(user: 200, agent: 120, toolInput: 0, toolError: 120, toolOutput: 0),
    ]

    public static let maxLevel = levels.count - 1

    public init() {}

    /// Digests one session's log.
    /// - Parameters:
    ///   - events: the whole log, oldest first.
    ///   - rawCharacters: the size of the raw log (its JSON).
    ///   - memoryReads: memories the session read, shown in the header.
    public func digest(
        session: Session, label: String, events: [SessionEvent], rawCharacters: Int, level: Int = 0, memoryReads: [String] = []
    ) -> SessionDigest {
        let limits = Self.levels[min(max(level, 0), Self.maxLevel)]
        var lines: [SessionDigest.Line] = []
        var quarantined: [SessionDigest.Quarantined] = []
        var toolNames: [String: String] = [:]
        var threadNames: [String: String] = [:]
        var sawAgentMessage = false
        var successfulTools = 0

        func add(_ event: SessionEvent, _ text: String, byUser: Bool = false) {
            let prefix = event.threadID.map { "[\(threadNames[$0] ?? "thread")] " } ?? ""
            lines.append(SessionDigest.Line(reference: "e\(lines.count + 1)", eventID: event.id, text: prefix + text, byUser: byUser))
        }

        /// The session user's own words (messages, outcome definitions, denials): the strongest
        /// evidence a session holds. Secrets are redacted; nothing else is changed except a cut
        /// to `limit`, marked. Directive wording is expected here and never quarantined.
        func verbatim(_ text: String, limit: Int) -> String {
            Self.cut(TranscriptGuard.redactSecrets(text).trimmingCharacters(in: .whitespacesAndNewlines), limit: limit)
        }

        /// Text that did not come from the user (the agent's words, tool input and output, errors):
        /// redacts secrets, quarantines instruction-like sentences, and cuts to `limit`.
        func clean(_ event: SessionEvent, _ text: String, limit: Int) -> String {
            var kept: [String] = []
            for sentence in Self.sentences(TranscriptGuard.redactSecrets(text)) {
                if TranscriptGuard.looksLikeInstruction(sentence) {
                    quarantined.append(.init(sessionID: session.id, eventID: event.id, text: String(sentence.prefix(500))))
                    kept.append("[instruction-like text quarantined]")
                } else {
                    kept.append(sentence)
                }
            }
            return Self.cut(Self.collapseWhitespace(kept.joined(separator: " ")), limit: limit)
        }

        func flushSuccesses(_ event: SessionEvent) {
            guard successfulTools > 0 else { return }
            if level >= 1 { add(event, "TOOLS: \(successfulTools) call(s) succeeded") }
            successfulTools = 0
        }

        for event in events {
            switch event.type {
            case .sessionThreadCreated:
                if let thread = event.threadID ?? event.fields["session_thread_id"]?.stringValue {
                    threadNames[thread] = event.fields["agent_name"]?.stringValue ?? "thread"
                }
            case .userMessage:
                flushSuccesses(event)
                let label = sawAgentMessage ? "USER FOLLOW-UP (may correct the agent)" : "USER"
                add(event, "\(label): \(verbatim(event.text, limit: limits.user))", byUser: true)
            case .userDefineOutcome:
                let description = verbatim(event.fields["description"]?.stringValue ?? "", limit: limits.user)
                let rubric = verbatim(event.fields["rubric"]?["content"]?.stringValue ?? "", limit: limits.user)
                add(event, "OUTCOME DEFINED: \(description) | rubric: \(rubric)", byUser: true)
            case .agentMessage:
                flushSuccesses(event)
                sawAgentMessage = true
                add(event, "AGENT: \(clean(event, event.text, limit: limits.agent))")
            case .agentThreadMessageSent:
                let to = event.fields["to_agent_name"]?.stringValue ?? "thread"
                add(event, "AGENT → \(to): \(clean(event, event.text, limit: limits.agent))")
            case .agentToolUse, .agentCustomToolUse, .agentMCPToolUse:
                let name = event.fields["name"]?.stringValue ?? "tool"
                toolNames[event.id] = name
                if limits.toolInput > 0, let input = event.fields["input"], let json = try? JSONCoding.string(input) {
                    add(event, "CALL \(name) \(clean(event, json, limit: limits.toolInput))")
                } else if level < 2 {
                    add(event, "CALL \(name)")
                }
            case .agentToolResult, .userCustomToolResult, .agentMCPToolResult:
                let useID = event.fields["tool_use_id"]?.stringValue ?? event.fields["custom_tool_use_id"]?.stringValue
                    ?? event.fields["mcp_tool_use_id"]?.stringValue ?? ""
                let name = toolNames[useID] ?? "tool"
                let exitStatus = Self.exitStatus(of: event.text)
                if event.fields["is_error"]?.boolValue == true {
                    flushSuccesses(event)
                    add(event, "TOOL ERROR \(name): \(clean(event, event.text, limit: limits.toolError))")
                } else if let exitStatus, exitStatus != 0 {
                    flushSuccesses(event)
                    add(event, "TOOL FAILED \(name) (exit \(exitStatus)): \(clean(event, event.text, limit: limits.toolError))")
                } else if level == 0 {
                    // Not shown, but screened: instructions planted in what a tool returned
                    // (a fetched page, a file) are listed for review.
                    _ = clean(event, event.text, limit: 0)
                    add(event, "TOOL OK \(name)")
                } else {
                    _ = clean(event, event.text, limit: 0)
                    successfulTools += 1
                }
            case .userToolConfirmation:
                if event.fields["result"] == "deny" {
                    let message = event.fields["deny_message"]?.stringValue.map { ": " + verbatim($0, limit: limits.user) } ?? ""
                    add(event, "USER DENIED A TOOL CALL\(message)", byUser: true)
                }
            case .userInterrupt:
                add(event, "USER INTERRUPTED")
            case .sessionError:
                let type = event.fields["error"]?["type"]?.stringValue ?? "error"
                let retry = event.fields["error"]?["retry_status"]?["type"]?.stringValue ?? ""
                let message = clean(event, event.fields["error"]?["message"]?.stringValue ?? "", limit: limits.toolError)
                add(event, "ERROR \(type)\(retry.isEmpty ? "" : " (\(retry))"): \(message)")
            case .spanOutcomeEvaluationEnd:
                let result = event.fields["result"]?.stringValue ?? "?"
                let iteration = event.fields["iteration"]?.intValue ?? 0
                let failed = (event.fields["criteria"]?.arrayValue ?? []).filter { $0["passed"] == .bool(false) }
                    .compactMap { criterion -> String? in
                        guard let name = criterion["criterion"]?.stringValue else { return nil }
                        return clean(event, name + " (" + (criterion["reason"]?.stringValue ?? "") + ")", limit: 160)
                    }
                var text = "GRADED iteration \(iteration): \(result)"
                if !failed.isEmpty { text += "; failed: " + failed.joined(separator: "; ") }
                add(event, text)
            default:
                break
            }
        }
        if let last = events.last { flushSuccesses(last) }

        var header: [String] = []
        let stop = events.last { $0.type == .sessionStatusIdle }?.fields["stop_reason"]?["type"]?.stringValue
        if let imported = session.imported {
            // A transcript of work done elsewhere: its own verdict, if it has one, is the outcome.
            header.append("imported transcript (\(imported.source)): work done elsewhere, not run by Reverie")
            header.append("outcome: \(imported.outcomeSummary.map { "\($0) (as the transcript records)" } ?? "not recorded (ungraded)")")
        } else {
            header.append("final status: \(session.status.rawValue)\(stop.map { " (\($0))" } ?? "")")
            if let outcome = session.outcomeEvaluations.last {
                header.append("outcome: \(outcome.result) after \(outcome.iteration) evaluation(s)")
            } else {
                header.append("outcome: none defined (ungraded)")
            }
        }
        if !memoryReads.isEmpty { header.append("memories read: " + memoryReads.sorted().joined(separator: ", ")) }
        return SessionDigest(
            sessionID: session.id, label: label, header: header, lines: lines, quarantined: quarantined, rawCharacters: rawCharacters,
            level: level)
    }

    /// The exit status a bash result reports on its last line (`Exit code: 1`), if any.
    static func exitStatus(of text: String) -> Int? {
        guard let last = text.split(separator: "\n").last, last.hasPrefix("Exit code: ") else { return nil }
        return Int(last.dropFirst("Exit code: ".count))
    }

    /// Sentences, split after `.`, `!` or `?` only where whitespace follows (so paths,
    /// versions and code such as `./scripts/test.sh` or `3.11.7` stay whole), and at newlines.
    static func sentences(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            current.append(character)
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            let ends = character == "\n" || ((character == "." || character == "!" || character == "?") && (next == nil || next?.isWhitespace == true))
            if ends {
                let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !trimmed.isEmpty { result.append(trimmed) }
                current = ""
            }
        }
        let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { result.append(trimmed) }
        return result
    }

    static func collapseWhitespace(_ text: String) -> String {
        text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// Cuts text to `limit` characters with a marker saying how much was cut.
    static func cut(_ text: String, limit: Int) -> String {
        guard text.count > limit else { return text }
        guard limit > 0 else { return "[\(text.count) chars cut]" }
        return String(text.prefix(limit)) + " […\(text.count - limit) chars cut]"
    }
}
