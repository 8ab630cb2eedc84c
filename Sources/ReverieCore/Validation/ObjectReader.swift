import Foundation

/// Reads and validates the members of a JSON object from a request, naming the offending
/// field in every error (`tools[1].name: must be 1-128 characters`).
public struct ObjectReader: Sendable {
    public let path: FieldPath
    public let members: [String: JSONValue]

    /// Reads `value` as an object at `path`.
    public init(_ value: JSONValue, at path: FieldPath = FieldPath()) throws(APIError) {
        guard case .object(let members) = value else {
            throw APIError.invalidRequest("\(path): expected an object, got \(value.typeName)")
        }
        self.path = path
        self.members = members
    }

    /// Parses a request body as a JSON object.
    public init(body: Data) throws(APIError) {
        let value: JSONValue
        do {
            value = try JSONCoding.decode(JSONValue.self, from: body)
        } catch {
            throw APIError.invalidRequest("request body is not valid JSON")
        }
        try self.init(value)
    }

    /// The path of a member, for error messages.
    public func field(_ key: String) -> FieldPath { path.member(key) }

    /// Rejects members other than `allowed`, so a misspelt field is reported rather than ignored.
    public func rejectUnknown(_ allowed: Set<String>) throws(APIError) {
        for key in members.keys.sorted() where !allowed.contains(key) {
            throw APIError.invalidRequest("\(field(key)): unknown field")
        }
    }

    /// Whether the member is present (possibly null).
    public func contains(_ key: String) -> Bool { members[key] != nil }

    /// A raw member as a patch: absent, null, or present.
    public func raw(_ key: String) -> Patch<JSONValue> {
        switch members[key] {
        case nil: .absent
        case .null?: .null
        case let value?: .value(value)
        }
    }

    // MARK: strings

    /// A required string member.
    public func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try string(key) else {
            throw APIError.invalidRequest("\(field(key)): required")
        }
        return value
    }

    /// An optional string member (nil when absent or null).
    public func string(_ key: String) throws(APIError) -> String? {
        try stringPatch(key).value
    }

    /// A string member as a patch.
    public func stringPatch(_ key: String) throws(APIError) -> Patch<String> {
        switch members[key] {
        case nil: return .absent
        case .null?: return .null
        case .string(let value)?: return .value(value)
        case let other?: throw APIError.invalidRequest("\(field(key)): expected a string, got \(other.typeName)")
        }
    }

    // MARK: numbers and booleans

    /// An optional integer member.
    public func int(_ key: String) throws(APIError) -> Int? {
        switch members[key] {
        case nil, .null?: return nil
        case let value?:
            guard let number = value.intValue, let int = Int(exactly: number) else {
                throw APIError.invalidRequest("\(field(key)): expected an integer, got \(value.typeName)")
            }
            return int
        }
    }

    /// An optional boolean member.
    public func bool(_ key: String) throws(APIError) -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw APIError.invalidRequest("\(field(key)): expected a boolean, got \(other.typeName)")
        }
    }

    // MARK: containers

    /// An optional object member.
    public func object(_ key: String) throws(APIError) -> ObjectReader? {
        switch members[key] {
        case nil, .null?: return nil
        case let value?: return try ObjectReader(value, at: field(key))
        }
    }

    /// A required object member.
    public func requiredObject(_ key: String) throws(APIError) -> ObjectReader {
        guard let reader = try object(key) else {
            throw APIError.invalidRequest("\(field(key)): required")
        }
        return reader
    }

    /// An optional array member.
    public func array(_ key: String) throws(APIError) -> [JSONValue]? {
        try arrayPatch(key).value
    }

    /// An array member as a patch.
    public func arrayPatch(_ key: String) throws(APIError) -> Patch<[JSONValue]> {
        switch members[key] {
        case nil: return .absent
        case .null?: return .null
        case .array(let value)?: return .value(value)
        case let other?: throw APIError.invalidRequest("\(field(key)): expected an array, got \(other.typeName)")
        }
    }

    /// An optional array of strings.
    public func stringArray(_ key: String) throws(APIError) -> [String]? {
        guard let values = try array(key) else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard case .string(let string) = value else {
                throw APIError.invalidRequest("\(field(key).index(index)): expected a string, got \(value.typeName)")
            }
            strings.append(string)
        }
        return strings
    }

    /// The `type` discriminator of this object, required.
    public func discriminator() throws(APIError) -> String {
        try requiredString("type")
    }
}

extension String {
    /// The length the API's character limits count: Unicode scalars.
    public var characterCountForLimits: Int { unicodeScalars.count }
}

/// Common bounds checks that produce field-naming errors.
public enum Rules {
    /// Checks a string's length in characters.
    public static func length(_ value: String, _ field: FieldPath, min: Int = 0, max: Int) throws(APIError) {
        let count = value.characterCountForLimits
        if count < min || count > max {
            if min > 0 {
                throw APIError.invalidRequest("\(field): must be \(min)-\(max) characters (got \(count))")
            }
            throw APIError.invalidRequest("\(field): must be at most \(max) characters (got \(count))")
        }
    }

    /// Checks an array's size.
    public static func count<T>(_ values: [T], _ field: FieldPath, min: Int = 0, max: Int) throws(APIError) {
        if values.count < min || values.count > max {
            if min > 0 {
                throw APIError.invalidRequest("\(field): must have \(min)-\(max) entries (got \(values.count))")
            }
            throw APIError.invalidRequest("\(field): must have at most \(max) entries (got \(values.count))")
        }
    }

    /// Checks that a string has no control characters.
    public static func noControlCharacters(_ value: String, _ field: FieldPath) throws(APIError) {
        if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw APIError.invalidRequest("\(field): must not contain control characters")
        }
    }
}
