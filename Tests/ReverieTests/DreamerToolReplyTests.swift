import Foundation
import ReverieCore
import ReverieMockLLM
import ReverieModels
import ReverieRuntime
import Testing

/// The dreamer answers through tools with JSON schemas, on both wire formats; an answer that
/// does not match its schema is sent back once with the problems.
@Suite(.timeLimit(.minutes(3))) struct DreamerToolReplyTests {
    static let lesson: JSONValue = ["kind": "mistake", "text": "Run ./scripts/test.sh, never pytest directly.", "evidence": [["session": "S1", "events": ["e1"]]]]
    static let operation = proposal("add", "/lessons/tests.md", content: "Run ./scripts/test.sh, never pytest directly.")

    static func scenario(badFirst: Bool) -> MockScenario {
        let goodLessons = MockStep(reply: [.toolUse(name: "record_lessons", input: ["candidates": [Self.lesson]])])
        let goodOperations = MockStep(reply: [.text("Here is my plan."), .toolUse(name: "propose_operations", input: ["operations": [Self.operation]])])
        let badLessons = MockStep(reply: [.toolUse(name: "record_lessons", input: ["candidates": [["kind": "hunch", "text": "x"]]])])
        let badOperations = MockStep(reply: [.toolUse(name: "propose_operations", input: ["operations": [["op": "frobnicate", "path": "/x.md"]]])])
        return MockScenario(rules: [
            MockRule(name: "extract", systemContains: "propose lessons", sequence: badFirst ? [badLessons, goodLessons] : [goodLessons]),
            MockRule(name: "curate", systemContains: "You maintain a memory store", sequence: badFirst ? [badOperations, goodOperations] : [goodOperations]),
        ])
    }

    @Test(arguments: [ProviderKind.anthropic, .openai])
    func theDreamerAnswersThroughItsTools(wire: ProviderKind) async throws {
        try await DreamFixture.with(Self.scenario(badFirst: false), wire: wire) { fixture in
            let (store, sessions) = try await DreamLifecycleTests.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .completed, "\(String(describing: dream.error))")
            #expect(try await fixture.contents(try #require(dream.outputStoreID))["/lessons/tests.md"] == "Run ./scripts/test.sh, never pytest directly.")
            let requests = await fixture.mock.requests()
            #expect(requests.count == 2)
            for (request, tool) in zip(requests, ["record_lessons", "propose_operations"]) {
                switch wire {
                case .anthropic:
                    #expect(request.body["tool_choice"] == ["type": "tool", "name": .string(tool)])
                    #expect(request.body["tools"]?[0]?["name"]?.stringValue == tool)
                    #expect(request.body["tools"]?[0]?["input_schema"]?["required"]?[0] != nil)
                case .openai:
                    #expect(request.body["tool_choice"] == ["type": "function", "function": ["name": .string(tool)]])
                    #expect(request.body["tools"]?[0]?["function"]?["name"]?.stringValue == tool)
                }
            }
            let report = try await fixture.platform.dreams.dreamReport(id: dream.id)
            #expect(report.candidates == 1 && report.candidatesWithoutEvidence == 0)
        }
    }

    @Test(arguments: [ProviderKind.anthropic, .openai])
    func anAnswerThatBreaksTheSchemaIsSentBackOnceWithTheProblems(wire: ProviderKind) async throws {
        try await DreamFixture.with(Self.scenario(badFirst: true), wire: wire) { fixture in
            let (store, sessions) = try await DreamLifecycleTests.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .completed, "\(String(describing: dream.error))")
            #expect(try await fixture.contents(try #require(dream.outputStoreID))["/lessons/tests.md"] != nil)
            let requests = await fixture.mock.requests()
            #expect(requests.map(\.rule) == ["extract", "extract", "curate", "curate"])
            // The second ask carries the first answer and an error result naming what was wrong.
            let retry = requests[3].bodyText
            #expect(retry.contains("frobnicate"))
            #expect(retry.contains("operations[0].op: must be one of 'add', 'update', 'delete', 'keep'"))
            let extractRetry = requests[1].bodyText
            #expect(extractRetry.contains("candidates[0].kind: must be one of"))
            #expect(extractRetry.contains("candidates[0].evidence: required"))
            switch wire {
            case .anthropic: #expect(requests[3].messages.last?["content"]?[0]?["is_error"] == true)
            case .openai: #expect(requests[3].messages.contains { $0["role"] == "tool" })
            }
        }
    }

    @Test func aDreamerThatNeverAnswersInShapeFailsClearly() async throws {
        let scenario = MockScenario(rules: [
            MockRule(name: "extract", systemContains: "propose lessons", MockStep(reply: [.toolUse(name: "record_lessons", input: ["candidates": []])])),
            MockRule(name: "curate", systemContains: "You maintain a memory store", MockStep(reply: [.text("I would rather not.")])),
        ])
        try await DreamFixture.with(scenario) { fixture in
            let (store, sessions) = try await DreamLifecycleTests.inputs(fixture)
            let dream = try await fixture.wait(try await fixture.createDream(store: store, sessions: sessions).id)
            #expect(dream.status == .failed)
            #expect(dream.error?.type == "model_response_error")
            #expect(dream.error?.message.contains("propose_operations") == true)
            #expect(await fixture.mock.requests().filter { $0.rule == "curate" }.count == 2)
        }
    }

    @Test func schemaProblemsNameWhere() {
        let schema = DreamerTool.operations.inputSchema
        #expect(JSONSchemaCheck.problems(["operations": [["op": "add", "path": "/a.md", "content": "x"]]], against: schema).isEmpty)
        #expect(JSONSchemaCheck.problems(["ops": []], against: schema) == ["operations: required"])
        #expect(JSONSchemaCheck.problems(["operations": "none"], against: schema) == ["operations: must be an array"])
        #expect(JSONSchemaCheck.problems(["operations": [["op": "add", "path": 3]]], against: schema) == ["operations[0].path: must be a string"])
        #expect(JSONSchemaCheck.problems("text", against: schema) == ["the answer: must be an object"])
        let lessons = DreamerTool.lessons.inputSchema
        #expect(JSONSchemaCheck.problems(["candidates": [["kind": "fact", "text": " ", "evidence": []]]], against: lessons).sorted() == [
            "candidates[0].evidence: must hold at least 1 item(s)", "candidates[0].text: must not be empty",
        ])
    }
}
