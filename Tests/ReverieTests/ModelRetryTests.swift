import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import Testing

@Suite("Retries with backoff against the mock server", .timeLimit(.minutes(3)))
struct ModelRetryTests {
    /// A retrying provider whose waits are recorded instead of slept.
    func retrying(_ base: any ModelProvider, _ log: RetryLog, maxAttempts: Int) -> RetryingModelProvider {
        RetryingModelProvider(
            base, policy: RetryPolicy(maxAttempts: maxAttempts, baseDelay: .milliseconds(100), maxDelay: .seconds(2)),
            sleep: { await log.slept($0) }, random: { 1.0 }, onRetry: { await log.append($0) })
    }

    @Test func rateLimitedThenSucceedsHonouringRetryAfter() async throws {
        let scenario = try scenario(
            """
            {"rules": [{"name": "flaky", "fail_with": 429, "fail_times": 2, "retry_after": 3, "reply": "finally"}]}
            """)
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let response = try await retrying(server.anthropic(http), log, maxAttempts: 5).complete(ModelRequest(model: "m", messages: [.user("x")]))
            #expect(response.content == [.text("finally")])
            #expect(await server.requests().count == 3)
            let attempts = await log.attempts
            #expect(attempts.map(\.attempt) == [1, 2])
            #expect(attempts.allSatisfy { $0.error.kind == .rateLimited && $0.error.statusCode == 429 && $0.maxAttempts == 5 })
            #expect(attempts.map(\.delay) == [.seconds(3), .seconds(3)])
            #expect(await log.sleeps == [.seconds(3), .seconds(3)])
        }
    }

    @Test func persistentServerErrorExhaustsAfterExactlyNAttempts() async throws {
        let scenario = MockScenario(rules: [MockRule(name: "down", .failure(500))])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let error = await #expect(throws: ModelError.self) {
                try await retrying(server.openAI(http), log, maxAttempts: 4).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .serverError)
            #expect(error?.retriesExhausted == true)
            #expect(error?.exhaustedAttempts == 4)
            #expect(await server.requests().count == 4)
            #expect(await log.attempts.map(\.attempt) == [1, 2, 3])
            // Exponential backoff: 100 ms, 200 ms, 400 ms (jitter pinned to the ceiling).
            #expect(await log.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
        }
    }

    @Test func truncatedStreamIsRetriedAndSucceeds() async throws {
        let scenario = MockScenario(rules: [
            MockRule(sequence: [
                MockStep(reply: [.text("first try gets cut off")], truncateStream: true),
                MockStep(reply: [.text("second try is whole")]),
            ])
        ])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let events = EventLog()
            let response = try await retrying(server.anthropic(http), log, maxAttempts: 3).complete(ModelRequest(model: "m", messages: [.user("x")])) {
                await events.append($0)
            }
            #expect(response.content == [.text("second try is whole")])
            #expect(await log.attempts.map(\.error.kind) == [.truncated])
            #expect(await server.requests().count == 2)
            // The failed attempt's partial output was streamed before the retry was announced.
            #expect(await events.text.hasSuffix("second try is whole"))
        }
    }

    @Test func overloadedStreamErrorIsRetried() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("ok now")], failTimes: 1, streamError: "overloaded_error"))])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let response = try await retrying(server.anthropic(http), log, maxAttempts: 3).complete(ModelRequest(model: "m", messages: [.user("x")]))
            #expect(response.content == [.text("ok now")])
            #expect(await log.attempts.map(\.error.kind) == [.overloaded])
        }
    }

    @Test func timeoutIsRetriedThenExhausted() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("late")], latencyMs: 1_000))])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let error = await #expect(throws: ModelError.self) {
                try await retrying(server.anthropic(http, timeout: .milliseconds(100)), log, maxAttempts: 2).complete(
                    ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .timeout)
            #expect(error?.exhaustedAttempts == 2)
            #expect(await log.attempts.map(\.error.kind) == [.timeout])
        }
    }

    @Test func invalidRequestIsNotRetried() async throws {
        let scenario = MockScenario(rules: [MockRule(.failure(400))])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let error = await #expect(throws: ModelError.self) {
                try await retrying(server.anthropic(http), log, maxAttempts: 5).complete(ModelRequest(model: "m", messages: [.user("x")]))
            }
            #expect(error?.kind == .invalidRequest)
            #expect(error?.retriesExhausted == false)
            #expect(await server.requests().count == 1)
            #expect(await log.attempts.isEmpty)
        }
    }

    @Test func realSleepsAreShortWithSmallDelays() async throws {
        let scenario = MockScenario(rules: [MockRule(MockStep(reply: [.text("done")], failWith: 503, failTimes: 2))])
        try await withMockLLM(scenario) { server, http in
            let log = RetryLog()
            let provider = RetryingModelProvider(
                server.openAI(http), policy: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20)),
                onRetry: { await log.append($0) })
            let response = try await provider.complete(ModelRequest(model: "m", messages: [.user("x")]))
            #expect(response.content == [.text("done")])
            // Two real waits, each within the policy's small bounds.
            let attempts = await log.attempts
            #expect(attempts.count == 2)
            #expect(attempts.allSatisfy { $0.delay <= .milliseconds(20) })
        }
    }

    @Test func backoffHasFullJitterAndCaps() {
        let policy = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(500), maxDelay: .seconds(4), maxRetryAfter: .seconds(10))
        let error = ModelError(.serverError, "x")
        #expect(policy.delay(afterAttempt: 1, error: error, unit: { 1 }) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 3, error: error, unit: { 1 }) == .seconds(2))
        #expect(policy.delay(afterAttempt: 9, error: error, unit: { 1 }) == .seconds(4))
        #expect(policy.delay(afterAttempt: 3, error: error, unit: { 0.25 }) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 3, error: error, unit: { 0 }) == .zero)
        #expect(policy.delay(afterAttempt: 1, error: ModelError(.rateLimited, "x", retryAfter: 2.5), unit: { 0 }) == .milliseconds(2500))
        #expect(policy.delay(afterAttempt: 1, error: ModelError(.rateLimited, "x", retryAfter: 3600), unit: { 0 }) == .seconds(10))
    }

    @Test func cancellationStopsRetrying() async throws {
        let scenario = MockScenario(rules: [MockRule(.failure(500))])
        try await withMockLLM(scenario) { server, http in
            // The backoff is an hour long and announces when it starts, so the cancel below
            // always lands inside it, however slow the machine.
            let (backoffs, started) = AsyncStream<Duration>.makeStream()
            let provider = RetryingModelProvider(
                server.anthropic(http), policy: RetryPolicy(maxAttempts: 100, baseDelay: .seconds(3600), maxDelay: .seconds(3600)),
                sleep: { delay in
                    started.yield(delay)
                    try await Task.sleep(for: delay)
                },
                random: { 1.0 })
            let task = Task { try await provider.complete(ModelRequest(model: "m", messages: [.user("x")])) }
            var iterator = backoffs.makeAsyncIterator()
            #expect(await iterator.next() == .seconds(3600))
            #expect(await server.requests().count == 1)
            task.cancel()
            let result = await task.result
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(await server.requests().count == 1)
        }
    }
}
