/// A field of an update request: left out (keep the stored value), `null` (clear it), or a new value.
public enum Patch<Value: Sendable>: Sendable {
    case absent
    case null
    case value(Value)

    /// The stored value after applying this patch to `current`.
    public func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }

    /// The new value, or nil when absent or null.
    public var value: Value? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// Whether the field was sent as `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Whether the field was sent at all.
    public var isPresent: Bool {
        if case .absent = self { return false }
        return true
    }

    /// Transforms the carried value.
    public func map<T>(_ transform: (Value) throws -> T) rethrows -> Patch<T> {
        switch self {
        case .absent: .absent
        case .null: .null
        case .value(let value): .value(try transform(value))
        }
    }
}

extension Patch: Equatable where Value: Equatable {}
