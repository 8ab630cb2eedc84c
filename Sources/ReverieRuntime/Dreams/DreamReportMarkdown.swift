import ReverieCore

/// The dream report as a Markdown memory in the output store. It depends only on the
/// dream's inputs and the plan (no ids of the dream itself, no clocks), so the same inputs
/// and model replies give the same bytes. Text the guards withheld is not repeated here —
/// only where it came from; the full text is in the API report for review.
enum DreamReportMarkdown {
    static func render(_ report: DreamReport, dream: Dream) -> String {
        var lines: [String] = ["# Dream report", ""]
        lines.append("- Input memory store: \(dream.memoryStoreID)")
        lines.append("- Sessions read: \(report.reading.sessions) (raw logs \(report.reading.rawCharacters) characters, digests \(report.reading.digestCharacters) characters)")
        lines.append("- Lessons proposed: \(report.candidates), dropped for missing or invented evidence: \(report.candidatesWithoutEvidence)")
        lines.append("- Operations: \(report.operations.count) applied, \(report.refused.count) refused, \(report.quarantinedProposals.count) withheld for review")
        if !report.reading.compressed.isEmpty {
            let items = report.reading.compressed.sorted { $0.key < $1.key }.map { "\($0.key) (level \($0.value))" }
            lines.append("- Summarised harder to fit the token budget: " + items.joined(separator: ", "))
        }
        if !report.reading.omitted.isEmpty {
            lines.append("- Left out to fit the token budget: " + report.reading.omitted.joined(separator: ", "))
        }
        lines.append("")
        lines.append("## Operations")
        if report.operations.isEmpty { lines += ["", "None."] }
        for operation in report.operations {
            lines.append("")
            lines.append("### \(operation.id): \(operation.action.rawValue) \(operation.path)")
            lines.append("")
            lines.append("- Review: \(operation.review.rawValue)")
            lines.append("- Rationale: \(oneLine(operation.rationale))")
            for evidence in operation.evidence {
                lines.append("- Evidence: session \(evidence.sessionID), events \(evidence.eventIDs.joined(separator: ", "))")
            }
        }
        if !report.refused.isEmpty {
            lines += ["", "## Refused by Reverie", ""]
            for refused in report.refused { lines.append("- \(refused.action) \(refused.path): \(oneLine(refused.reason))") }
        }
        if !report.quarantinedProposals.isEmpty || !report.quarantinedTranscript.isEmpty {
            lines += ["", "## Withheld for review", ""]
            for proposal in report.quarantinedProposals {
                lines.append("- proposed \(proposal.action) \(proposal.path): \(oneLine(proposal.reason))")
            }
            for passage in report.quarantinedTranscript {
                lines.append("- transcript text that tried to instruct the dreamer: session \(passage.sessionID), event \(passage.eventID)")
            }
        }
        if report.secretsRedacted > 0 {
            lines += ["", "\(report.secretsRedacted) proposal(s) contained text that looked like a secret; it was redacted."]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func oneLine(_ text: String) -> String {
        TranscriptGuard.redactSecrets(text).split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
