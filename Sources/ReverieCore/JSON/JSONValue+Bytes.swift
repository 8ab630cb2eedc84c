import Foundation

/// A direct reader and writer of `JSONValue`, used by `JSONCoding` in place of
/// `JSONDecoder`/`JSONEncoder` for the JSON that every event, request and model call goes
/// through. `JSONValue`'s `Codable` conformance has to guess each value's kind by trying
/// `Bool`, `Int64`, `Double`, … in turn, and every failed guess builds a `DecodingError`
/// with its coding path: that made JSON the platform's largest cost per agent step.
///
/// The behaviour is that of the Foundation coders it replaces (checked by tests against
/// them): the reader accepts what `JSONDecoder` accepts (a leading byte order mark, trailing
/// commas, duplicate keys with the first one kept) and reads integral numbers that fit
/// `Int64` as `.int`; the writer sorts keys by their UTF-8 bytes, escapes like `JSONEncoder`
/// with `.withoutEscapingSlashes`, and formats doubles exactly as `JSONEncoder` does.
enum JSONValueBytes {
    /// Nesting deeper than this is refused rather than risking the stack.
    static let maxDepth = 512

    // MARK: reading

    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self))
            return try reader.document()
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        func failure(_ message: String) -> DecodingError {
            DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON: \(message) at byte \(index)."))
        }

        mutating func document() throws -> JSONValue {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
            let value = try self.value(depth: 0)
            skipWhitespace()
            guard index == bytes.count else { throw failure("unexpected content after the value") }
            return value
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard index < bytes.count else { throw failure("unexpected end of data") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw failure("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw failure("unexpected end of data") }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for offset in 0..<count where bytes[index + offset] != expected[offset] { throw failure("invalid literal") }
            index += count
        }

        mutating func object(depth: Int) throws -> JSONValue {
            guard depth <= JSONValueBytes.maxDepth else { throw failure("too deeply nested") }
            index += 1
            var members: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
                index += 1
                skipWhitespace()
                let member = try value(depth: depth)
                // The first of duplicate keys is kept, as JSONDecoder does.
                if members[key] == nil { members[key] = member }
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of data") }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected ',' or '}'") }
                index += 1
                skipWhitespace()
                // A trailing comma is accepted, as JSONDecoder does.
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            guard depth <= JSONValueBytes.maxDepth else { throw failure("too deeply nested") }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw failure("unexpected end of data") }
                if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected ',' or ']'") }
                index += 1
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
            }
        }

        mutating func string() throws -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = try utf8(start..<index)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw failure("unescaped control character in a string") }
                index += 1
            }
            var buffer = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return try buffer.withUnsafeBufferPointer { pointer in
                        guard let text = String(validating: pointer, as: UTF8.self) else { throw failure("invalid UTF-8") }
                        return text
                    }
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw failure("unexpected end of data") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): buffer.append(0x08)
                    case UInt8(ascii: "f"): buffer.append(0x0C)
                    case UInt8(ascii: "n"): buffer.append(0x0A)
                    case UInt8(ascii: "r"): buffer.append(0x0D)
                    case UInt8(ascii: "t"): buffer.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw failure("unpaired surrogate")
                            }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw failure("unpaired surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw failure("invalid escape") }
                        buffer.append(contentsOf: String(Character(unicode)).utf8)
                    default:
                        throw failure("invalid escape")
                    }
                default:
                    if byte < 0x20 { throw failure("unescaped control character in a string") }
                    buffer.append(byte)
                    index += 1
                }
            }
            throw failure("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw failure("unexpected end of data") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("invalid \\u escape")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        func utf8(_ range: Range<Int>) throws -> String {
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) else { throw failure("invalid UTF-8") }
            return text
        }

        /// A number: `.int` when its value is integral and fits `Int64` (`1.0` and `1e2` too,
        /// as JSONDecoder reads them), else `.double`.
        mutating func number() throws -> JSONValue {
            let start = index
            var negative = false
            if bytes[index] == UInt8(ascii: "-") {
                negative = true
                index += 1
            }
            // Significant digits (without leading zeros) and the power of ten they are scaled by.
            var digits: [UInt8] = []
            var exponent = 0
            let integerStart = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            let integerCount = index - integerStart
            guard integerCount > 0 else { throw failure("expected a digit") }
            if integerCount > 1, bytes[integerStart] == UInt8(ascii: "0") { throw failure("leading zero") }
            var isSimple = true
            digits.append(contentsOf: bytes[integerStart..<index])
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isSimple = false
                index += 1
                let fractionStart = index
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
                guard index > fractionStart else { throw failure("expected a digit after '.'") }
                digits.append(contentsOf: bytes[fractionStart..<index])
                exponent -= index - fractionStart
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isSimple = false
                index += 1
                var exponentNegative = false
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    exponentNegative = bytes[index] == UInt8(ascii: "-")
                    index += 1
                }
                let exponentStart = index
                var written = 0
                while index < bytes.count, isDigit(bytes[index]) {
                    written = min(written * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1_000_000)
                    index += 1
                }
                guard index > exponentStart else { throw failure("expected a digit in the exponent") }
                exponent += exponentNegative ? -written : written
            }
            if isSimple, let value = Int64(decimal: bytes[integerStart..<index], negative: negative) {
                return .int(value)
            }
            // Integral after scaling? Trailing zeros move into the exponent.
            while let last = digits.last, last == UInt8(ascii: "0"), digits.count > 1 {
                digits.removeLast()
                exponent += 1
            }
            while digits.count > 1, digits.first == UInt8(ascii: "0") { digits.removeFirst() }
            if digits == [UInt8(ascii: "0")] { return .int(0) }
            if exponent >= 0, exponent <= 18 {
                digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: exponent))
                if let value = Int64(decimal: digits[...], negative: negative) { return .int(value) }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let double = Double(text), double.isFinite else { throw failure("number out of range") }
            // A value too small for a Double reads as 0, as JSONDecoder reads it.
            return double == 0 ? .int(0) : .double(double)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }

    // MARK: writing

    static func write(_ value: JSONValue) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try write(value, to: &output)
        return output
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func write(_ value: JSONValue, to output: inout [UInt8]) throws {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number):
            // Doubles are rare; JSONEncoder decides their exact text (and refuses NaN and infinity).
            let encoder = JSONEncoder()
            output.append(contentsOf: try encoder.encode(number))
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (offset, key) in keys.enumerated() {
                if offset > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, to: &output)
                output.append(UInt8(ascii: ":"))
                if let member = members[key] { try write(member, to: &output) }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension Int64 {
    /// Reads plain decimal digits (no sign); nil when they do not fit.
    fileprivate init?<Digits: Collection<UInt8>>(decimal digits: Digits, negative: Bool) {
        var value: Int64 = 0
        for digit in digits {
            let (scaled, overflowA) = value.multipliedReportingOverflow(by: 10)
            let amount = Int64(digit - UInt8(ascii: "0"))
            let (next, overflowB) = negative ? scaled.subtractingReportingOverflow(amount) : scaled.addingReportingOverflow(amount)
            if overflowA || overflowB { return nil }
            value = next
        }
        self = value
    }
}
