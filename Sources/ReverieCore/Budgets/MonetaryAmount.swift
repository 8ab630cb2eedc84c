/// An amount of money as the API writes it: `{"amount": "2500", "currency": "USD"}`, the
/// amount in minor units (cents) as an integer string. Reverie counts list cost in millionths
/// of a dollar and shows it rounded up to the cent, so a cap fires at or before the charge.
public struct MonetaryAmount: Sendable, Equatable, Codable {
    /// Millionths of a US dollar.
    public var micros: Int64

    public static let currency = "USD"

    public init(micros: Int64) {
        self.micros = micros
    }

    /// Cents, rounded up.
    public var cents: Int64 { (micros + 9_999) / 10_000 }

    public var json: JSONValue { ["amount": .string(String(cents)), "currency": .string(Self.currency)] }

    enum CodingKeys: String, CodingKey { case amount, currency }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        micros = (Int64(try container.decode(String.self, forKey: .amount)) ?? 0) * 10_000
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(cents), forKey: .amount)
        try container.encode(Self.currency, forKey: .currency)
    }

    /// Reads `{"amount": "<cents>", "currency": "USD"}`.
    public static func parse(_ reader: ObjectReader) throws(APIError) -> MonetaryAmount {
        try reader.rejectUnknown(["amount", "currency"])
        let amount = try reader.requiredString("amount")
        guard let cents = Int64(amount), cents > 0, String(cents) == amount, cents < 100_000_000_000 else {
            throw APIError.invalidRequest("\(reader.field("amount")): must be a positive whole number of cents without leading zeros, e.g. \"2500\" for $25.00")
        }
        let currency = try reader.requiredString("currency")
        guard currency == Self.currency else { throw APIError.invalidRequest("\(reader.field("currency")): only 'USD' is supported") }
        return MonetaryAmount(micros: cents * 10_000)
    }
}

/// A session's spend ceiling: `{"type": "limit", "max_list_cost": {…}}`. The session stops
/// issuing model requests once its tracked list cost reaches it.
public struct SessionBudget: Sendable, Equatable, Codable {
    public var maxListCost: MonetaryAmount

    public init(maxListCost: MonetaryAmount) {
        self.maxListCost = maxListCost
    }

    enum CodingKeys: String, CodingKey {
        case type
        case maxListCost = "max_list_cost"
    }

    public init(from decoder: any Decoder) throws {
        maxListCost = try decoder.container(keyedBy: CodingKeys.self).decode(MonetaryAmount.self, forKey: .maxListCost)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("limit", forKey: .type)
        try container.encode(maxListCost, forKey: .maxListCost)
    }

    public static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> SessionBudget {
        let reader = try ObjectReader(value, at: field)
        try reader.rejectUnknown(["type", "max_list_cost"])
        guard try reader.string("type") == "limit" else { throw APIError.invalidRequest("\(reader.field("type")): must be 'limit'") }
        guard let cost = reader.members["max_list_cost"] else { throw APIError.invalidRequest("\(reader.field("max_list_cost")): required") }
        return SessionBudget(maxListCost: try MonetaryAmount.parse(try ObjectReader(cost, at: reader.field("max_list_cost"))))
    }
}
