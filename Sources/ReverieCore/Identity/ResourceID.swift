import Foundation

/// Generates the prefixed, time-ordered identifiers the API uses (`agent_01…`, `sesn_01…`).
///
/// After the prefix come `01`, nine base-62 digits of the creation time in milliseconds and
/// fourteen random base-62 digits, so identifiers made later sort after earlier ones.
public enum ResourceID {
    public static let agent = "agent"
    public static let environment = "env"
    public static let session = "sesn"
    public static let event = "sevt"
    public static let thread = "sthr"
    public static let memoryStore = "memstore"
    public static let memory = "mem"
    public static let memoryVersion = "memver"
    public static let dream = "drm"
    public static let evaluation = "eval"
    public static let outcome = "outc"
    public static let apiKey = "apikey"
    public static let environmentKey = "envkey"
    public static let work = "work"
    public static let file = "file"
    public static let skill = "skill"
    public static let sessionResource = "sesrsc"
    public static let webhookEndpoint = "whep"
    public static let webhookEvent = "wevt"
    public static let webhookDelivery = "whdl"
    public static let vault = "vlt"
    public static let vaultCredential = "vcrd"
    public static let deployment = "depl"
    public static let deploymentRun = "drun"

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A new identifier with `prefix`.
    public static func make(_ prefix: String, at date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(prefix, at: date, using: &generator)
    }

    /// A new identifier with `prefix`, drawing randomness from `generator`.
    public static func make(_ prefix: String, at date: Date, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(prefix.utf8.count + 26)
        bytes.append(contentsOf: prefix.utf8)
        bytes.append(UInt8(ascii: "_"))
        bytes.append(contentsOf: "01".utf8)
        var millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var timeDigits = [UInt8](repeating: alphabet[0], count: 9)
        for index in stride(from: 8, through: 0, by: -1) {
            timeDigits[index] = alphabet[Int(millis % 62)]
            millis /= 62
        }
        bytes.append(contentsOf: timeDigits)
        // Two random words give the fourteen digits, seven each (62^7 < 2^42, so taking them
        // by division leaves no noticeable bias); two draws instead of fourteen, since each
        // draw from the system generator is a system call.
        for _ in 0..<2 {
            var word = generator.next()
            for _ in 0..<7 {
                bytes.append(alphabet[Int(word % 62)])
                word /= 62
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `id` looks like an identifier with `prefix` (so a wrong kind of id gets a clear 404).
    public static func hasPrefix(_ id: String, _ prefix: String) -> Bool {
        id.hasPrefix(prefix + "_") && id.utf8.count > prefix.utf8.count + 1
    }
}
