import Foundation

/// Deterministic text similarity for merging duplicate memories: the Jaccard index of the
/// word trigrams (shingles) of two normalized texts, falling back to word sets for short texts.
public enum TextSimilarity {
    /// Lower-cased words of letters and digits.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    static func shingles(_ words: [String], size: Int) -> Set<String> {
        guard words.count >= size else { return words.isEmpty ? [] : [words.joined(separator: " ")] }
        var result = Set<String>()
        for index in 0...(words.count - size) { result.insert(words[index..<(index + size)].joined(separator: " ")) }
        return result
    }

    /// Similarity in 0...1; 1 means the same words in the same order.
    public static func similarity(_ a: String, _ b: String) -> Double {
        let wordsA = words(a)
        let wordsB = words(b)
        if wordsA.isEmpty && wordsB.isEmpty { return 1 }
        if wordsA == wordsB { return 1 }
        let size = min(wordsA.count, wordsB.count) < 6 ? 1 : 3
        let setA = shingles(wordsA, size: size)
        let setB = shingles(wordsB, size: size)
        let union = setA.union(setB).count
        guard union > 0 else { return 0 }
        return Double(setA.intersection(setB).count) / Double(union)
    }
}
