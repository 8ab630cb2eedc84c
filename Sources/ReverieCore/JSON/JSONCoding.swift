import Foundation

/// The JSON encoders and decoders every layer uses, so the wire format is decided once.
public enum JSONCoding {
    /// Encodes with sorted keys (deterministic output) and RFC 3339 timestamps.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }

    /// Decodes RFC 3339 timestamps with or without fractional seconds.
    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an RFC 3339 timestamp, got \"\(text)\"")
            }
            return date
        }
        return decoder
    }

    /// Encodes a value to a UTF-8 string.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        if let json = value as? JSONValue { return String(decoding: try JSONValueBytes.write(json), as: UTF8.self) }
        if let value = value as? any JSONRepresentable { return String(decoding: try JSONValueBytes.write(value.json), as: UTF8.self) }
        return String(decoding: try encoder().encode(value), as: UTF8.self)
    }

    /// Encodes a value to bytes.
    public static func data<T: Encodable>(_ value: T) throws -> Data {
        if let json = value as? JSONValue { return Data(try JSONValueBytes.write(json)) }
        if let value = value as? any JSONRepresentable { return Data(try JSONValueBytes.write(value.json)) }
        return try encoder().encode(value)
    }

    /// Decodes a value from bytes. `JSONValue` is read directly (`JSONValueBytes`), same result, much faster.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if type == JSONValue.self, let value = try JSONValueBytes.parse(data) as? T { return value }
        return try decoder().decode(type, from: data)
    }

    /// Decodes a value from a UTF-8 string.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: Data(text.utf8))
    }

    /// Converts any encodable value to a `JSONValue`.
    public static func value<T: Encodable>(_ value: T) throws -> JSONValue {
        try decode(JSONValue.self, from: data(value))
    }
}
