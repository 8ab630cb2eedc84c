/// A path to a field in a request body (`tools[2].name`), used to name fields in error messages.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public private(set) var components: [String]

    public init(_ components: [String] = []) {
        self.components = components
    }

    public init(_ name: String) {
        self.components = [name]
    }

    /// This path extended by a member name.
    public func member(_ name: String) -> FieldPath {
        var copy = self
        copy.components.append(name)
        return copy
    }

    /// This path extended by an array index.
    public func index(_ index: Int) -> FieldPath {
        var copy = self
        if let last = copy.components.popLast() {
            copy.components.append("\(last)[\(index)]")
        } else {
            copy.components.append("[\(index)]")
        }
        return copy
    }

    public var description: String {
        components.isEmpty ? "body" : components.joined(separator: ".")
    }
}
