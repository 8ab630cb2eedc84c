import ReverieCore

/// Reads a tool call's input object, failing with messages that name the field.
struct ToolInput {
    let tool: String
    let fields: [String: JSONValue]

    init(_ value: JSONValue, tool: String) throws(SandboxError) {
        guard let fields = value.objectValue else {
            throw SandboxError("\(tool): input must be a JSON object, got \(value.typeName)")
        }
        self.tool = tool
        self.fields = fields
    }

    private func present(_ key: String) -> JSONValue? {
        guard let value = fields[key], !value.isNull else { return nil }
        return value
    }

    /// A required string.
    func string(_ key: String) throws(SandboxError) -> String {
        guard let value = try optionalString(key) else { throw SandboxError("\(tool): \(key) is required") }
        return value
    }

    func optionalString(_ key: String) throws(SandboxError) -> String? {
        guard let value = present(key) else { return nil }
        guard let string = value.stringValue else { throw SandboxError("\(tool): \(key) must be a string, got \(value.typeName)") }
        return string
    }

    func optionalBool(_ key: String) throws(SandboxError) -> Bool? {
        guard let value = present(key) else { return nil }
        guard let bool = value.boolValue else { throw SandboxError("\(tool): \(key) must be a boolean, got \(value.typeName)") }
        return bool
    }

    func optionalInt(_ key: String) throws(SandboxError) -> Int? {
        guard let value = present(key) else { return nil }
        guard let number = value.intValue else { throw SandboxError("\(tool): \(key) must be an integer, got \(value.typeName)") }
        return Int(number)
    }

    func optionalIntArray(_ key: String) throws(SandboxError) -> [Int]? {
        guard let value = present(key) else { return nil }
        guard let array = value.arrayValue else { throw SandboxError("\(tool): \(key) must be an array of integers, got \(value.typeName)") }
        var numbers: [Int] = []
        for element in array {
            guard let number = element.intValue else { throw SandboxError("\(tool): \(key) must be an array of integers") }
            numbers.append(Int(number))
        }
        return numbers
    }
}

extension SandboxTool {
    /// Runs `body`, turning a thrown failure into an error output and applying the output limits.
    func guarded(in sandbox: Sandbox, limits: ToolOutputLimits = .standard,
                 _ body: () async throws(SandboxError) -> ToolOutput) async -> ToolOutput {
        do throws(SandboxError) {
            let output = try await body()
            return await limits.apply(output, in: sandbox)
        } catch {
            return .error(error.message)
        }
    }
}
