import Foundation
import ReverieCore
import ReverieModels
import Testing

/// The values budgets count with: prices, amounts, and the list cost a session's log adds up.
@Suite struct BudgetValuesTests {
    @Test func aCallIsPricedPerMillionTokensWithCacheDefaults() throws {
        let sonnet = try #require(ModelPrice.known(for: "anthropic/claude-sonnet-4-5"))
        #expect(sonnet.inputPerMillion == 3 && sonnet.outputPerMillion == 15)
        #expect(abs(sonnet.cacheReadPerMillion - 0.3) < 1e-12 && sonnet.cacheWritePerMillion == 3.75)
        // 100,000 × $3 + 1,000 × $15 + 10,000 × $0.30 + 2,000 × $3.75 per million = $0.3255.
        let usage = TokenUsage(inputTokens: 100_000, outputTokens: 1_000, cacheReadInputTokens: 10_000, cacheCreationInputTokens: 2_000)
        #expect(sonnet.micros(for: usage) == 325_500)
        #expect(ModelPrice.known(for: "llama3") == nil)
        #expect(ModelPrice.known(for: "claude-opus-4-5-20251101")?.inputPerMillion == 5)
        #expect(ModelPrice.known(for: "claude-opus-4-1")?.inputPerMillion == 15)
    }

    @Test func amountsAreWholeCentsRoundedUpAndParsedStrictly() throws {
        #expect(MonetaryAmount(micros: 325_500).cents == 33)
        #expect(MonetaryAmount(micros: 10_000).cents == 1)
        #expect(MonetaryAmount(micros: 0).json == ["amount": "0", "currency": "USD"])
        #expect(try MonetaryAmount.parse(ObjectReader(["amount": "2500", "currency": "USD"])).micros == 25_000_000)
        for bad: JSONValue in [["amount": "025", "currency": "USD"], ["amount": "1.5", "currency": "USD"], ["amount": "0", "currency": "USD"],
                               ["amount": "10", "currency": "EUR"], ["amount": 10, "currency": "USD"]] {
            #expect(throws: APIError.self) { try MonetaryAmount.parse(ObjectReader(bad)) }
        }
    }

    @Test func theLogAddsUpModelAndGraderCosts() {
        let events = [
            SessionEvent(type: .spanModelRequestEnd, fields: ["model_usage": ["input_tokens": 10, "output_tokens": 1], "list_cost_micros": 40_000]),
            SessionEvent(type: .userDefineOutcome, fields: ["outcome_id": "outc_1", "description": "d"]),
            SessionEvent(type: .spanOutcomeEvaluationEnd, fields: [
                "outcome_id": "outc_1", "result": "satisfied", "usage": ["input_tokens": 5, "output_tokens": 1], "list_cost_micros": 2_500,
            ]),
            // A call of a model without a price adds tokens, not cost.
            SessionEvent(type: .spanModelRequestEnd, fields: ["model_usage": ["input_tokens": 7, "output_tokens": 1]]),
        ]
        var state = SessionState(updatedAt: Date())
        for event in events { state.apply(event) }
        #expect(state.usage.listCostMicros == 42_500)
        #expect(state.usage.inputTokens == 22)
        #expect(state.usage.json["list_cost"] == ["amount": "5", "currency": "USD"])
    }
}
