import Foundation
import Testing
@testable import ReverieCore

@Suite(.timeLimit(.minutes(3))) struct TimestampTests {
    @Test func formatsWithMicrosecondsInUTC() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123456)
        #expect(Timestamp.format(date) == "2026-11-18T11:06:40.123456Z")
    }

    @Test func parsesOffsetsAndFractions() throws {
        let utc = try #require(Timestamp.parse("2026-11-18T11:06:40.5Z"))
        let offset = try #require(Timestamp.parse("2026-11-18T13:06:40.5+02:00"))
        #expect(utc == offset)
        #expect(Timestamp.micros(utc) == 1_795_000_000_500_000)
        #expect(Timestamp.parse("2026-11-18") == nil)
        #expect(Timestamp.parse("2026-13-18T08:26:40Z") == nil)
        #expect(Timestamp.parse("2026-11-18T08:26:40.Z") == nil)
    }

    @Test func roundTripsThroughText() {
        let now = Timestamp.now()
        #expect(Timestamp.parse(Timestamp.format(now)) == now)
    }
}

@Suite(.timeLimit(.minutes(3))) struct ResourceIDTests {
    @Test func idsCarryPrefixAndSortByTime() {
        let earlier = ResourceID.make("agent", at: Date(timeIntervalSince1970: 1_000))
        let later = ResourceID.make("agent", at: Date(timeIntervalSince1970: 2_000))
        #expect(earlier.hasPrefix("agent_01"))
        #expect(earlier < later)
        #expect(ResourceID.hasPrefix(earlier, "agent"))
        #expect(!ResourceID.hasPrefix(earlier, "sesn"))
        #expect(Set((0..<1000).map { _ in ResourceID.make("x") }).count == 1000)
    }

    @Test func everyRandomDigitVaries() {
        let ids = (0..<2000).map { _ in Array(ResourceID.make("x").utf8) }
        #expect(ids.allSatisfy { $0.count == "x_01".utf8.count + 9 + 14 })
        let alphabet = Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for position in (ids[0].count - 14)..<ids[0].count {
            let seen = Set(ids.map { $0[position] })
            #expect(seen.isSubset(of: alphabet))
            #expect(seen.count > 55, "position \(position) takes \(seen.count) of 62 digits")
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct CursorTests {
    @Test func tokenRoundTrips() throws {
        let cursor = Cursor(direction: .before, position: 42, id: "sesn_01abc|x")
        #expect(try Cursor(token: cursor.token) == cursor)
    }

    @Test func rejectsForeignTokens() {
        #expect(throws: APIError.self) { try Cursor(token: "nonsense") }
        #expect(throws: APIError.self) { try Cursor(token: "page_!!!") }
        #expect(throws: APIError.self) { try Cursor(token: "page_" + Data("z|1|x".utf8).base64EncodedString()) }
    }
}

@Suite(.timeLimit(.minutes(3))) struct ValidationTests {
    @Test func metadataLimitsNameTheField() throws {
        let tooMany = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", JSONValue.string("v")) }))
        let error = try #require(throws: APIError.self) { try Metadata.parse(tooMany, at: FieldPath("metadata")) }
        #expect(error.kind == .invalidRequest)
        #expect(error.message.contains("metadata"))
        #expect(throws: APIError.self) { try Metadata.parse(["k": .string(String(repeating: "v", count: 513))], at: FieldPath("metadata")) }
        #expect(throws: APIError.self) { try Metadata.parse([String(repeating: "k", count: 65): "v"], at: FieldPath("metadata")) }
        #expect(try Metadata.parse(["k": .string(String(repeating: "v", count: 512))], at: FieldPath("metadata")).count == 1)
    }

    @Test func metadataPatchUpsertsAndDeletes() throws {
        let result = try Metadata.applyPatch(["a": "2", "b": nil, "c": "3"], to: ["a": "1", "b": "x"], at: FieldPath("metadata"))
        #expect(result == ["a": "2", "c": "3"])
    }

    @Test func toolErrorsNameTheOffendingEntry() throws {
        let body = try ObjectReader([
            "name": "a", "model": "m",
            "tools": [["type": "custom", "name": "ok", "description": "d", "input_schema": ["type": "object"]], ["type": "bogus"]],
        ])
        let error = try #require(throws: APIError.self) { try AgentCreateRequest(body) }
        #expect(error.message.hasPrefix("tools[1].type"))
    }

    @Test func customToolNamesAreChecked() throws {
        let body = try ObjectReader([
            "name": "a", "model": "m", "tools": [["type": "custom", "name": "bad name!", "description": "d", "input_schema": ["type": "object"]]],
        ])
        #expect(throws: APIError.self) { try AgentCreateRequest(body) }
    }

    @Test func unknownFieldsAreRejected() throws {
        let body = try ObjectReader(["name": "a", "model": "m", "sytem": "typo"])
        let error = try #require(throws: APIError.self) { try AgentCreateRequest(body) }
        #expect(error.message == "sytem: unknown field")
    }

    @Test func toolsetDefaultsResolve() throws {
        let body = try ObjectReader([
            "name": "a", "model": "m",
            "tools": [["type": "agent_toolset_20260401", "configs": [["name": "bash", "permission_policy": ["type": "always_ask"]]]]],
        ])
        let request = try AgentCreateRequest(body)
        guard case .agentToolset(let toolset) = request.tools.first else {
            Issue.record("expected a toolset")
            return
        }
        #expect(toolset.setting(for: .bash).policy == .alwaysAsk)
        #expect(toolset.setting(for: .read).policy == .alwaysAllow)
        #expect(toolset.setting(for: .read).enabled)
    }

    @Test func sendableEventsAreValidated() throws {
        func parse(_ events: JSONValue) throws -> [SessionEvent] {
            try UserEventRequest.parse(events.arrayValue ?? [], at: FieldPath("events"))
        }
        #expect(try parse([["type": "user.message", "content": [["type": "text", "text": "hi"]]]]).first?.type == .userMessage)
        #expect(throws: APIError.self) { try parse([["type": "user.message", "content": []]]) }
        #expect(throws: APIError.self) { try parse([["type": "nope"]]) }
        #expect(throws: APIError.self) { try parse([["type": "agent.message", "content": []]]) }
        #expect(throws: APIError.self) { try parse([["type": "user.tool_confirmation", "tool_use_id": "x", "result": "maybe"]]) }
        #expect(throws: APIError.self) {
            try parse([["type": "user.tool_confirmation", "tool_use_id": "x", "result": "allow", "deny_message": "no"]])
        }
        #expect(throws: APIError.self) { try parse([["type": "system.message", "content": [["type": "text", "text": "s"]]]]) }
        let outcome = try parse([["type": "user.define_outcome", "description": "d", "rubric": ["type": "text", "content": "r"]]])
        #expect(outcome.first?.fields["max_iterations"] == 3)
        #expect(outcome.first?.fields["outcome_id"]?.stringValue?.hasPrefix("outc_") == true)
        #expect(throws: APIError.self) {
            try parse([["type": "user.define_outcome", "description": "d", "rubric": ["type": "text", "content": "r"], "max_iterations": 21]])
        }
    }

    @Test func agentUpdateThatChangesNothingIsNoChange() throws {
        let now = Date()
        let agent = Agent(id: "agent_1", name: "a", system: "s", model: ModelConfig(id: "m"), createdAt: now, updatedAt: now)
        let update = try AgentUpdateRequest(try ObjectReader(["system": "s", "name": "a"]))
        #expect(try update.applied(to: agent).hasSameConfiguration(as: agent))
        let change = try AgentUpdateRequest(try ObjectReader(["system": "t"]))
        #expect(!(try change.applied(to: agent).hasSameConfiguration(as: agent)))
    }
}
