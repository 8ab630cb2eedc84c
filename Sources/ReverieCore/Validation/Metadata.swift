/// The `metadata` bag on agents, environments, sessions and stores: at most 16 pairs,
/// keys 1-64 characters, values at most 512 characters.
public enum Metadata {
    public static let maxPairs = 16
    public static let maxKeyLength = 64
    public static let maxValueLength = 512

    /// Parses a full metadata object (create requests).
    public static func parse(_ value: JSONValue?, at field: FieldPath) throws(APIError) -> [String: String] {
        guard let value, !value.isNull else { return [:] }
        let reader = try ObjectReader(value, at: field)
        var result: [String: String] = [:]
        for (key, member) in reader.members {
            guard case .string(let string) = member else {
                throw APIError.invalidRequest("\(field.member(key)): metadata values must be strings, got \(member.typeName)")
            }
            result[key] = string
        }
        try validate(result, at: field)
        return result
    }

    /// Applies a metadata patch (update requests): a string upserts, null deletes.
    /// When `emptyDeletes` is set, an empty string deletes too (environments).
    public static func applyPatch(_ value: JSONValue?, to current: [String: String], at field: FieldPath, emptyDeletes: Bool = false)
        throws(APIError) -> [String: String]
    {
        guard let value, !value.isNull else { return current }
        let reader = try ObjectReader(value, at: field)
        var result = current
        for key in reader.members.keys.sorted() {
            switch reader.members[key] {
            case .null?: result[key] = nil
            case .string(let string)? where emptyDeletes && string.isEmpty: result[key] = nil
            case .string(let string)?: result[key] = string
            case let other?:
                throw APIError.invalidRequest("\(field.member(key)): metadata values must be strings or null, got \(other.typeName)")
            case nil: break
            }
        }
        try validate(result, at: field)
        return result
    }

    /// Checks the limits.
    public static func validate(_ metadata: [String: String], at field: FieldPath) throws(APIError) {
        if metadata.count > maxPairs {
            throw APIError.invalidRequest("\(field): at most \(maxPairs) pairs allowed (got \(metadata.count))")
        }
        for key in metadata.keys.sorted() {
            let count = key.characterCountForLimits
            if count < 1 || count > maxKeyLength {
                throw APIError.invalidRequest("\(field): key '\(key.prefix(80))' must be 1-\(maxKeyLength) characters")
            }
            if let value = metadata[key], value.characterCountForLimits > maxValueLength {
                throw APIError.invalidRequest("\(field.member(key)): value must be at most \(maxValueLength) characters")
            }
        }
    }
}
