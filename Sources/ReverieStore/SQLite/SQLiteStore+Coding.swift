import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    /// Encodes a stored body.
    static func encode<T: Encodable>(_ value: T) throws -> String {
        try JSONCoding.string(value)
    }

    /// Decodes a stored body.
    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONCoding.decode(type, from: text)
    }

    /// Records outbox events in the current transaction.
    static func enqueue(_ events: [OutboxEvent], _ db: Database) throws {
        guard !events.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO outbox (id, type, resource_id, created_at, attributes) VALUES (?, ?, ?, ?, ?)")
        for event in events {
            try statement.execute(
                arguments: [
                    event.id, event.type, event.resourceID, Timestamp.micros(event.createdAt),
                    event.attributes.isEmpty ? nil : try encode(event.attributes),
                ])
        }
    }
}

/// Builds keyset-paginated queries over `(sort key, id)`.
struct KeysetQuery {
    /// The SQL expression of the sort key (e.g. `created_at`).
    var sortColumn: String
    var idColumn: String = "id"
    var conditions: [String] = []
    var arguments: StatementArguments = []

    mutating func filter(_ condition: String, _ values: [any DatabaseValueConvertible] = []) {
        conditions.append(condition)
        for value in values { arguments += [value] }
    }

    mutating func filter(_ range: TimeRange, column: String) {
        if let lower = range.lowerBound { filter("\(column) \(range.lowerInclusive ? ">=" : ">") ?", [lower]) }
        if let upper = range.upperBound { filter("\(column) \(range.upperInclusive ? "<=" : "<") ?", [upper]) }
    }

    /// Fetches one page. `select` is the column list; `position` reads a row's sort key and id.
    func page<T>(
        _ db: Database, from table: String, select: String, page request: PageRequest,
        decode: (Row) throws -> T, position: (Row) -> (Int64, String)
    ) throws -> Page<T> {
        var conditions = self.conditions
        var arguments = self.arguments
        let descending = request.order == .descending
        // Reading "before" a cursor walks the list backwards, then restores the order.
        let backwards = request.cursor?.direction == .before
        let walkDescending = descending != backwards
        if let cursor = request.cursor {
            let comparison = walkDescending ? "<" : ">"
            conditions.append("(\(sortColumn) \(comparison) ? OR (\(sortColumn) = ? AND \(idColumn) \(comparison) ?))")
            arguments += [cursor.position, cursor.position, cursor.id]
        }
        let direction = walkDescending ? "DESC" : "ASC"
        var sql = "SELECT \(select) FROM \(table)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(sortColumn) \(direction), \(idColumn) \(direction) LIMIT ?"
        arguments += [request.limit + 1]
        var rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
        let hasMore = rows.count > request.limit
        if hasMore { rows.removeLast() }
        if backwards { rows.reverse() }
        let items = try rows.map(decode)
        guard let first = rows.first, let last = rows.last else {
            // An empty page: offer the way back when we came from somewhere.
            return Page(items: items)
        }
        let firstPosition = position(first)
        let lastPosition = position(last)
        let nextCursor = Cursor(direction: .after, position: lastPosition.0, id: lastPosition.1)
        let previousCursor = Cursor(direction: .before, position: firstPosition.0, id: firstPosition.1)
        if backwards {
            return Page(items: items, next: nextCursor, previous: hasMore ? previousCursor : nil)
        }
        return Page(items: items, next: hasMore ? nextCursor : nil, previous: request.cursor == nil ? nil : previousCursor)
    }
}
