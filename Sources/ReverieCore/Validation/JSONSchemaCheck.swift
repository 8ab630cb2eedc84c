import Foundation

/// Checks a JSON value against the subset of JSON Schema that Reverie writes for its own tools:
/// `type` (object, array, string, integer, number, boolean), `properties`, `required`,
/// `items`, `enum`, `minLength` and `minItems`. Anything else in a schema is ignored.
public enum JSONSchemaCheck {
    /// Every way `value` departs from `schema`, each naming where (`operations[2].op: …`);
    /// empty when it conforms.
    public static func problems(_ value: JSONValue, against schema: JSONValue, at path: String = "") -> [String] {
        let here = path.isEmpty ? "the answer" : path
        if let type = schema["type"]?.stringValue, !matches(value, type: type) {
            return ["\(here): must be \(article(type)) \(type)"]
        }
        var found: [String] = []
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            let names = allowed.compactMap(\.stringValue).map { "'\($0)'" }.joined(separator: ", ")
            found.append("\(here): must be one of \(names)")
        }
        if let minimum = schema["minLength"]?.intValue, let text = value.stringValue,
            text.trimmingCharacters(in: .whitespacesAndNewlines).count < Int(minimum)
        {
            found.append("\(here): must not be empty")
        }
        if let object = value.objectValue {
            for name in (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue) where object[name] == nil || object[name] == .null {
                found.append("\(join(path, name)): required")
            }
            for (name, property) in schema["properties"]?.objectValue ?? [:] {
                guard let member = object[name], member != .null else { continue }
                found += problems(member, against: property, at: join(path, name))
            }
        }
        if let items = value.arrayValue {
            if let minimum = schema["minItems"]?.intValue, items.count < Int(minimum) {
                found.append("\(here): must hold at least \(minimum) item(s)")
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { found += problems(item, against: itemSchema, at: "\(path)[\(index)]") }
            }
        }
        return found
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch type {
        case "object": value.objectValue != nil
        case "array": value.arrayValue != nil
        case "string": value.stringValue != nil
        case "integer": value.intValue != nil
        case "number": value.isNumber
        case "boolean": value.boolValue != nil
        default: true
        }
    }

    private static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
    private static func article(_ type: String) -> String { type == "object" || type == "array" || type == "integer" ? "an" : "a" }
}

extension JSONValue {
    fileprivate var isNumber: Bool {
        switch self {
        case .int, .double: true
        default: false
        }
    }
}
