/// A line diff between two texts (longest common subsequence, after trimming the common head
/// and tail), for memory versions and agent versions.
struct LineDiff: Sendable, Equatable {
    enum Kind: String, Sendable {
        case same, added, removed
    }

    struct Line: Sendable, Equatable {
        let kind: Kind
        let text: String
    }

    let lines: [Line]

    /// Inner blocks larger than this many line pairs are shown as a whole removal and addition.
    static let maxCells = 4_000_000

    init(from old: String, to new: String) {
        let a = old.isEmpty ? [] : old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.isEmpty ? [] : new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var head = 0
        while head < a.count, head < b.count, a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head, tail < b.count - head, a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let x = Array(a[head..<(a.count - tail)]), y = Array(b[head..<(b.count - tail)])
        var lines = a[..<head].map { Line(kind: .same, text: $0) }
        lines += Self.middle(x, y)
        lines += a[(a.count - tail)...].map { Line(kind: .same, text: $0) }
        self.lines = lines
    }

    private static func middle(_ x: [String], _ y: [String]) -> [Line] {
        if x.isEmpty { return y.map { Line(kind: .added, text: $0) } }
        if y.isEmpty { return x.map { Line(kind: .removed, text: $0) } }
        guard x.count * y.count <= maxCells else {
            return x.map { Line(kind: .removed, text: $0) } + y.map { Line(kind: .added, text: $0) }
        }
        // lengths[i][j]: LCS length of x[i...] and y[j...], in one flat array.
        let width = y.count + 1
        var lengths = [Int32](repeating: 0, count: (x.count + 1) * width)
        for i in stride(from: x.count - 1, through: 0, by: -1) {
            for j in stride(from: y.count - 1, through: 0, by: -1) {
                lengths[i * width + j] = x[i] == y[j]
                    ? lengths[(i + 1) * width + j + 1] + 1 : max(lengths[(i + 1) * width + j], lengths[i * width + j + 1])
            }
        }
        var result: [Line] = []
        var i = 0, j = 0
        while i < x.count, j < y.count {
            if x[i] == y[j] {
                result.append(Line(kind: .same, text: x[i]))
                i += 1
                j += 1
            } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
                result.append(Line(kind: .removed, text: x[i]))
                i += 1
            } else {
                result.append(Line(kind: .added, text: y[j]))
                j += 1
            }
        }
        result += x[i...].map { Line(kind: .removed, text: $0) }
        result += y[j...].map { Line(kind: .added, text: $0) }
        return result
    }

    var hasChanges: Bool { lines.contains { $0.kind != .same } }

    /// For templates: each line with its kind and the `+`/`-`/` ` marker.
    var view: [[String: Any]] {
        lines.map { line in
            let marker = switch line.kind {
            case .same: " "
            case .added: "+"
            case .removed: "-"
            }
            return ["kind": line.kind.rawValue, "marker": marker, "text": line.text]
        }
    }
}
