import ReverieCore

/// The dream report as Markdown, for people: `GET /v1/dreams/{id}/report?format=markdown`
/// and `reverie dream show`. Each operation shows its content, rationale and the cited events
/// quoted as the dreamer read them. Transcript text the guards withheld from the dreamer is
/// not repeated here — only where it came from; its text is in the JSON report.
public enum DreamReportMarkdown {
    public static func render(_ report: DreamReport, dream: Dream) -> String {
        var lines: [String] = ["# Dream report: \(dream.id)", ""]
        lines.append("- Input memory store: \(dream.memoryStoreID)")
        lines.append("- Output memory store: \(report.outputStoreID ?? dream.outputStoreID ?? "none yet")")
        lines.append("- Sessions read: \(report.reading.sessions) (raw logs \(report.reading.rawCharacters) characters, digests \(report.reading.digestCharacters) characters)")
        lines.append("- Lessons proposed: \(report.candidates), dropped for missing or invented evidence: \(report.candidatesWithoutEvidence)")
        lines.append("- Operations: \(report.operations.count) applied, \(report.withheld.count) withheld for review, \(report.refused.count) refused")
        if !report.reading.compressed.isEmpty {
            let items = report.reading.compressed.sorted { $0.key < $1.key }.map { "\($0.key) (level \($0.value))" }
            lines.append("- Summarised harder to fit the token budget: " + items.joined(separator: ", "))
        }
        if !report.reading.omitted.isEmpty {
            lines.append("- Left out to fit the token budget: " + report.reading.omitted.joined(separator: ", "))
        }
        if let promotion = report.promotion {
            lines.append("- Promoted into \(promotion.memoryStoreID) (\(promotion.strategy.rawValue)), changing \(promotion.changedPaths.count) path(s)")
        }
        lines += ["", "## Operations"]
        if report.operations.isEmpty { lines += ["", "None."] }
        for operation in report.operations { lines += section(operation) }
        if !report.withheld.isEmpty {
            lines += ["", "## Withheld for review", "", "Not in the output store unless accepted (`reverie dream review <id> --accept wh_…`)."]
            for operation in report.withheld { lines += section(operation) }
        }
        if !report.refused.isEmpty {
            lines += ["", "## Refused by Reverie", ""]
            for refused in report.refused { lines.append("- \(refused.action) `\(refused.path)`: \(oneLine(refused.reason))") }
        }
        if !report.quarantinedTranscript.isEmpty {
            lines += ["", "## Transcript text kept from the dreamer", ""]
            for passage in report.quarantinedTranscript {
                lines.append("- instruction-like text in session \(passage.sessionID), event \(passage.eventID)")
            }
        }
        if report.secretsRedacted > 0 {
            lines += ["", "\(report.secretsRedacted) proposal(s) contained text that looked like a secret; it was redacted."]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func section(_ operation: DreamOperation) -> [String] {
        var lines = ["", "### \(operation.id): \(operation.action.rawValue) `\(operation.path)`", ""]
        lines.append("- Review: \(operation.review.rawValue)")
        if let held = operation.heldBecause { lines.append("- Held because: \(oneLine(held))") }
        lines.append("- Rationale: \(oneLine(operation.rationale))")
        for evidence in operation.evidence {
            for id in evidence.eventIDs {
                let quote = evidence.quotes.first { $0.eventID == id }?.text
                lines.append("- Evidence \(evidence.sessionID) \(id)" + (quote.map { ": “\(oneLine($0))”" } ?? ""))
            }
        }
        if let content = operation.content {
            lines += ["", "~~~markdown", fenceSafe(content), "~~~"]
        }
        if let previous = operation.previousContent, operation.action != .add {
            lines += ["", "Before:", "", "~~~markdown", fenceSafe(previous), "~~~"]
        }
        return lines
    }

    /// Content shown inside a `~~~` fence: a line that would close the fence is indented.
    private static func fenceSafe(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("~~~") ? " " + $0 : String($0) }.joined(separator: "\n")
    }

    private static func oneLine(_ text: String) -> String {
        TranscriptGuard.redactSecrets(text).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
