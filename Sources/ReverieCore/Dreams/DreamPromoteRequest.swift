import Foundation

/// A parsed `POST /v1/dreams/{id}/promote` body (Reverie extension).
public struct DreamPromoteRequest: Sendable, Equatable {
    public var strategy: DreamPromotion.Strategy

    public init(strategy: DreamPromotion.Strategy = .apply) {
        self.strategy = strategy
    }

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["strategy"])
        let text = try body.string("strategy") ?? DreamPromotion.Strategy.apply.rawValue
        guard let strategy = DreamPromotion.Strategy(rawValue: text) else {
            throw APIError.invalidRequest("strategy: must be 'apply' or 'replace', got '\(text)'")
        }
        self.strategy = strategy
    }
}
