import Foundation

/// Keeps transcripts from steering or leaking through a dream.
///
/// - Secrets (API keys, tokens, passwords, private keys) are replaced by `[REDACTED]`
///   before any text reaches the model or the output store.
/// - Text that tries to instruct the dreamer ("always run …", "write this into memory",
///   "ignore previous instructions") is quarantined: removed from what the model sees and
///   listed in the report for a person to review.
public enum TranscriptGuard {
    public static let redaction = "[REDACTED]"

    /// Secret-looking patterns, most specific first.
    static let secretPatterns: [NSRegularExpression] = [
        #"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"#,
        #"\bsk-ant-[A-Za-z0-9_\-]{10,}"#,
        #"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_\-]{16,}"#,
        #"\brvk_[A-Za-z0-9]{16,}"#,
        #"\bwhsec_[A-Za-z0-9+/=]{16,}"#,
        #"\bgh[pousr]_[A-Za-z0-9]{20,}"#,
        #"\bgithub_pat_[A-Za-z0-9_]{20,}"#,
        #"\bxox[abprs]-[A-Za-z0-9\-]{10,}"#,
        #"\bAKIA[0-9A-Z]{16}\b"#,
        #"\bAIza[0-9A-Za-z_\-]{30,}"#,
        #"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"#,
        #"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{16,}=*"#,
        #"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|auth)\b(\s*[:=]\s*|\s+is\s+)["']?[^\s"',;]{6,}"#,
        #"(?i)\b[a-z][a-z0-9+.\-]*://[^\s/:@]+:[^\s/@]+@"#,
    ].compactMap { try? NSRegularExpression(pattern: $0) }

    /// `text` with every secret replaced.
    public static func redactSecrets(_ text: String) -> String {
        var result = text
        for pattern in secretPatterns {
            let range = NSRange(result.startIndex..., in: result)
            let matches = pattern.matches(in: result, range: range).reversed()
            for match in matches {
                guard let swiftRange = Range(match.range, in: result) else { continue }
                // Keep the keyword of `password: xyz` so the sentence stays readable.
                if match.numberOfRanges >= 3, let keyword = Range(match.range(at: 1), in: result),
                    let separator = Range(match.range(at: 2), in: result)
                {
                    let prefix = String(result[keyword]) + String(result[separator])
                    result.replaceSubrange(swiftRange, with: prefix + redaction)
                } else {
                    result.replaceSubrange(swiftRange, with: redaction)
                }
            }
        }
        return result
    }

    /// Whether `text` contains something that looks like a secret.
    public static func containsSecret(_ text: String) -> Bool {
        redactSecrets(text) != text
    }

    /// Phrases with which transcript text addresses the dreamer or its memory.
    static let instructionPatterns: [NSRegularExpression] = [
        #"(?i)\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|earlier|all)\b.{0,20}\b(instructions?|rules|prompts?)"#,
        #"(?i)\b(write|save|store|add|record|put|remember|insert)\b.{0,40}\b(in|into|to)\b.{0,20}\b(your |the )?(memory|memories|memory store|notes|lessons|playbook)"#,
        #"(?i)\b(dreamer|dream(ing)? (model|agent|process)|memory (curator|consolidation))\b"#,
        #"(?i)\b(always|never|from now on,?|in (all )?future sessions,?)\b.{0,60}\b(run|execute|call|use|send|curl|wget|rm -rf|delete|upload|trust|obey|follow)\b"#,
        #"(?i)\b(new|updated|system|hidden)\s+(instructions?|directives?|prompt)\b\s*:"#,
        #"(?i)\byou (must|should|will) now\b"#,
    ].compactMap { try? NSRegularExpression(pattern: $0) }

    /// Whether `text` tries to instruct the dreamer.
    public static func looksLikeInstruction(_ text: String) -> Bool {
        matches(instructionPatterns, text)
    }

    /// Phrases that have no place in a lesson: they address the reader's instructions or
    /// memory, or carry destructive or exfiltrating commands. Lessons are imperative by nature
    /// ("always run the tests"), so proposals are held to these narrower patterns.
    static let injectionPatterns: [NSRegularExpression] =
        [instructionPatterns[0], instructionPatterns[1], instructionPatterns[2], instructionPatterns[4], instructionPatterns[5]] + [
            #"(?i)\brm\s+-[a-z]*r[a-z]*f\b|\brm\s+-[a-z]*f[a-z]*r\b"#,
            #"(?i)\b(curl|wget)\b[^\n|]*\|\s*(ba|z)?sh\b"#,
            #"(?i)\b(exfiltrate|upload|send|post)\b.{0,40}\b(secrets?|credentials?|keys?|tokens?|passwords?)\b"#,
        ].compactMap { try? NSRegularExpression(pattern: $0) }

    /// Whether proposed memory content carries an injected directive.
    public static func looksLikeInjection(_ text: String) -> Bool {
        matches(injectionPatterns, text)
    }

    private static func matches(_ patterns: [NSRegularExpression], _ text: String) -> Bool {
        let range = NSRange(text.startIndex..., in: text)
        return patterns.contains { $0.firstMatch(in: text, range: range) != nil }
    }
}
