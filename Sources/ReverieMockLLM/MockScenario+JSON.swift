import Foundation
import ReverieCore

extension MockScenario {
    /// Reads a scenario file. Unknown keys and malformed values are errors naming the field.
    public init(json data: Data) throws {
        let root: JSONValue
        do {
            root = try JSONCoding.decode(JSONValue.self, from: data)
        } catch {
            throw MockScenarioError("the scenario is not valid JSON: \(error)")
        }
        try self.init(json: root)
    }

    /// Reads a scenario from parsed JSON.
    public init(json root: JSONValue) throws {
        let object = try Reader(root, at: "scenario")
        try object.allow(["defaults", "rules", "fallback"])
        var scenario = MockScenario()
        if let defaults = try object.object("defaults") {
            try defaults.allow(["latency_ms", "chunk_delay_ms", "model"])
            scenario.defaults = MockDefaults(
                latencyMs: try defaults.int("latency_ms") ?? 0, chunkDelayMs: try defaults.int("chunk_delay_ms") ?? 0, model: try defaults.string("model"))
        }
        if let fallback = try object.object("fallback") {
            scenario.fallback = try Self.step(fallback)
        }
        if let rules = try object.array("rules") {
            scenario.rules = try rules.enumerated().map { index, value in try Self.rule(Reader(value, at: "rules[\(index)]")) }
        }
        self = scenario
    }

    private static let stepKeys: Set<String> = [
        "reply", "stop_reason", "usage", "latency_ms", "chunk_delay_ms", "fail_with", "fail_times", "retry_after", "error_message", "truncate_stream",
        "stream_error", "hold",
    ]

    private static func rule(_ object: Reader) throws -> MockRule {
        try object.allow(stepKeys.union(ruleKeys))
        var steps: [MockStep] = []
        if let sequence = try object.array("sequence") {
            if let stray = object.keys.intersection(stepKeys.subtracting(["fail_times"])).sorted().first {
                throw MockScenarioError("\(object.path).\(stray): put reply settings inside the sequence's steps")
            }
            guard !sequence.isEmpty else { throw MockScenarioError("\(object.path).sequence must not be empty") }
            steps = try sequence.enumerated().map { index, value in try step(Reader(value, at: "\(object.path).sequence[\(index)]")) }
            if let failTimes = try object.int("fail_times") {
                steps = steps.map { var step = $0; step.failTimes = step.failTimes ?? failTimes; return step }
            }
        } else {
            steps = [try step(object, alsoAllowing: ruleKeys)]
        }
        var api: MockAPI?
        if let name = try object.string("api") {
            guard let value = MockAPI(rawValue: name) else { throw MockScenarioError("\(object.path).api must be \"anthropic\" or \"openai\"") }
            api = value
        }
        for key in ["system_regex", "last_user_regex"] {
            if let pattern = try object.string(key) {
                do {
                    _ = try Regex(pattern)
                } catch {
                    throw MockScenarioError("\(object.path).\(key) is not a valid regular expression: \(error)")
                }
            }
        }
        return MockRule(
            name: try object.string("name"), systemContains: try object.string("system_contains"), systemRegex: try object.string("system_regex"),
            lastUserContains: try object.string("last_user_contains"), lastUserRegex: try object.string("last_user_regex"), model: try object.string("model"),
            api: api, hasTool: try object.string("has_tool"), times: try object.int("times"), sequence: steps)
    }

    private static let ruleKeys: Set<String> = [
        "name", "system_contains", "system_regex", "last_user_contains", "last_user_regex", "model", "api", "has_tool", "times", "sequence",
    ]

    private static func step(_ object: Reader, alsoAllowing extra: Set<String> = []) throws -> MockStep {
        try object.allow(stepKeys.union(extra))
        var step = MockStep()
        if let reply = object.value("reply") {
            if let text = reply.stringValue {
                step.reply = [.text(text)]
            } else if let blocks = reply.arrayValue {
                step.reply = try blocks.enumerated().map { index, value in try block(Reader(value, at: "\(object.path).reply[\(index)]")) }
            } else {
                throw MockScenarioError("\(object.path).reply must be a string or an array of blocks")
            }
        }
        step.stopReason = try object.string("stop_reason")
        if let usage = try object.object("usage") {
            try usage.allow(["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"])
            step.usage = MockUsage(
                inputTokens: try usage.int("input_tokens") ?? 0, outputTokens: try usage.int("output_tokens") ?? 0,
                cacheReadInputTokens: try usage.int("cache_read_input_tokens") ?? 0,
                cacheCreationInputTokens: try usage.int("cache_creation_input_tokens") ?? 0)
        }
        step.latencyMs = try object.int("latency_ms")
        step.chunkDelayMs = try object.int("chunk_delay_ms")
        step.failWith = try object.int("fail_with")
        if let status = step.failWith, !(400...599).contains(status) {
            throw MockScenarioError("\(object.path).fail_with must be an HTTP error status (400–599)")
        }
        step.failTimes = try object.int("fail_times")
        step.retryAfter = try object.number("retry_after")
        step.errorMessage = try object.string("error_message")
        step.truncateStream = try object.bool("truncate_stream") ?? false
        step.streamError = try object.string("stream_error")
        step.hold = try object.string("hold")
        return step
    }

    private static func block(_ object: Reader) throws -> MockBlock {
        switch try object.string("type") {
        case "text":
            try object.allow(["type", "text"])
            return .text(try object.string("text") ?? "")
        case "thinking":
            try object.allow(["type", "thinking", "signature"])
            return .thinking(try object.string("thinking") ?? "", signature: try object.string("signature"))
        case "tool_use":
            try object.allow(["type", "name", "input", "id"])
            guard let name = try object.string("name"), !name.isEmpty else { throw MockScenarioError("\(object.path).name is required") }
            let input = object.value("input") ?? .object([:])
            guard input.objectValue != nil else { throw MockScenarioError("\(object.path).input must be an object") }
            return .toolUse(name: name, input: input, id: try object.string("id"))
        default:
            throw MockScenarioError("\(object.path).type must be \"text\", \"thinking\" or \"tool_use\"")
        }
    }
}

/// Reads one JSON object of the scenario, naming fields in errors.
private struct Reader {
    let members: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, at path: String) throws {
        guard let members = value.objectValue else { throw MockScenarioError("\(path) must be an object") }
        self.members = members
        self.path = path
    }

    var keys: Set<String> { Set(members.keys) }

    func allow(_ allowed: Set<String>) throws {
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw MockScenarioError("\(path).\(unknown) is not a known setting")
        }
    }

    func value(_ key: String) -> JSONValue? {
        guard let value = members[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else { throw MockScenarioError("\(path).\(key) must be a string") }
        return text
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.intValue, number >= 0 else { throw MockScenarioError("\(path).\(key) must be a non-negative integer") }
        return Int(number)
    }

    func number(_ key: String) throws -> Double? {
        switch value(key) {
        case nil: return nil
        case .int(let number)? where number >= 0: return Double(number)
        case .double(let number)? where number >= 0: return number
        default: throw MockScenarioError("\(path).\(key) must be a non-negative number")
        }
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else { throw MockScenarioError("\(path).\(key) must be a boolean") }
        return flag
    }

    func object(_ key: String) throws -> Reader? {
        guard let value = value(key) else { return nil }
        return try Reader(value, at: "\(path).\(key)")
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let items = value.arrayValue else { throw MockScenarioError("\(path).\(key) must be an array") }
        return items
    }
}
