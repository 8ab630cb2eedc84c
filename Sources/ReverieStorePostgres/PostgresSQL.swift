import Foundation
import Logging
import NIOCore
import PostgresNIO
import ReverieCore

/// A value bound to a statement parameter.
enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    case bool(Bool)
    case double(Double)
    case textArray([String])
    case intArray([Int64])
}

/// Something that can be bound to a statement parameter or read from a column.
protocol SQLValueConvertible: Sendable {
    var sqlValue: SQLValue { get }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Self
}

/// A column that could not be read as the type asked for.
struct SQLColumnError: Error, CustomStringConvertible {
    let column: String
    let expected: String
    let found: SQLValue
    var description: String { "column \(column): expected \(expected), found \(found)" }
}

extension SQLValue: SQLValueConvertible {
    var sqlValue: SQLValue { self }
    static func fromSQL(_ value: SQLValue, column: String) throws -> SQLValue { value }
}

extension String: SQLValueConvertible {
    var sqlValue: SQLValue { .text(self) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> String {
        guard case .text(let text) = value else { throw SQLColumnError(column: column, expected: "text", found: value) }
        return text
    }
}

extension Int64: SQLValueConvertible {
    var sqlValue: SQLValue { .int(self) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Int64 {
        switch value {
        case .int(let number): return number
        case .bool(let flag): return flag ? 1 : 0
        default: throw SQLColumnError(column: column, expected: "integer", found: value)
        }
    }
}

extension Int: SQLValueConvertible {
    var sqlValue: SQLValue { .int(Int64(self)) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Int {
        Int(try Int64.fromSQL(value, column: column))
    }
}

extension Bool: SQLValueConvertible {
    var sqlValue: SQLValue { .bool(self) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .int(let number): return number != 0
        default: throw SQLColumnError(column: column, expected: "boolean", found: value)
        }
    }
}

extension Double: SQLValueConvertible {
    var sqlValue: SQLValue { .double(self) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Double {
        switch value {
        case .double(let number): return number
        case .int(let number): return Double(number)
        default: throw SQLColumnError(column: column, expected: "double", found: value)
        }
    }
}

extension Array: SQLValueConvertible where Element == String {
    var sqlValue: SQLValue { .textArray(self) }
    static func fromSQL(_ value: SQLValue, column: String) throws -> [String] {
        guard case .textArray(let values) = value else { throw SQLColumnError(column: column, expected: "text[]", found: value) }
        return values
    }
}

extension Optional: SQLValueConvertible where Wrapped: SQLValueConvertible {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
    static func fromSQL(_ value: SQLValue, column: String) throws -> Wrapped? {
        if value == .null { return nil }
        return try Wrapped.fromSQL(value, column: column)
    }
}

/// One row of a result, read by column name.
struct SQLRow: Sendable {
    private let values: [String: SQLValue]

    init(_ row: PostgresRow) throws {
        var values: [String: SQLValue] = [:]
        for cell in row {
            values[cell.columnName] = try Self.value(of: cell)
        }
        self.values = values
    }

    subscript<T: SQLValueConvertible>(_ column: String) -> T {
        get throws {
            guard let value = values[column] else { throw SQLColumnError(column: column, expected: "a column", found: .null) }
            return try T.fromSQL(value, column: column)
        }
    }

    func hasColumn(_ column: String) -> Bool { values[column] != nil }

    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
        case .bool: return .bool(try cell.decode(Bool.self))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .textArray, .varcharArray: return .textArray(try cell.decode([String].self))
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// A connection inside a transaction (or not), with GRDB-like helpers: `?` placeholders,
/// rows read by name.
struct SQLConnection {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs a statement and returns its rows.
    @discardableResult
    func fetchAll(_ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> [SQLRow] {
        let query = try Self.query(sql, arguments)
        var rows: [SQLRow] = []
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(try SQLRow(row))
        }
        return rows
    }

    func fetchOne(_ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> SQLRow? {
        try await fetchAll(sql, arguments).first
    }

    /// The first column of the first row, nil when there is none (or it is NULL).
    func scalar<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> T? {
        let query = try Self.query(sql, arguments)
        for try await row in try await connection.query(query, logger: logger) {
            var result: T?
            for cell in row {
                let rowValue = try SQLRow.value(of: cell)
                result = try T?.fromSQL(rowValue, column: cell.columnName)
                break
            }
            return result
        }
        return nil
    }

    /// The first column of every row.
    func column<T: SQLValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> [T] {
        let query = try Self.query(sql, arguments)
        var values: [T] = []
        for try await row in try await connection.query(query, logger: logger) {
            for cell in row {
                values.append(try T.fromSQL(try SQLRow.value(of: cell), column: cell.columnName))
                break
            }
        }
        return values
    }

    /// Runs a statement; returns how many rows it returned (use `RETURNING 1` to count changes).
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLValueConvertible] = []) async throws -> Int {
        let query = try Self.query(sql, arguments)
        var count = 0
        for try await _ in try await connection.query(query, logger: logger) { count += 1 }
        return count
    }

    /// Turns `?` placeholders into `$n` and binds the arguments.
    static func query(_ sql: String, _ arguments: [any SQLValueConvertible]) throws -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + 16)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                text += "$\(index)"
            } else {
                text.append(character)
            }
        }
        precondition(index == arguments.count, "statement has \(index) placeholders but \(arguments.count) arguments: \(sql)")
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument.sqlValue {
            case .null: binds.appendNull()
            case .int(let value): binds.append(value)
            case .text(let value): binds.append(value)
            case .bool(let value): binds.append(value)
            case .double(let value): binds.append(value)
            case .textArray(let values): binds.append(values)
            case .intArray(let values): binds.append(values)
            }
        }
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }
}

/// PostgreSQL error codes the store reacts to.
enum SQLState {
    static let uniqueViolation = "23505"
    static let serializationFailure = "40001"
    static let deadlockDetected = "40P01"

    static func of(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
