import Foundation
import ReverieCore

/// Builds keyset-paginated queries over `(sort key, id)` (as `SQLiteStore` does).
struct PostgresKeysetQuery {
    var sortColumn: String
    var idColumn: String = "id"
    var conditions: [String] = []
    var arguments: [any SQLValueConvertible] = []

    mutating func filter(_ condition: String, _ values: [any SQLValueConvertible] = []) {
        conditions.append(condition)
        arguments += values
    }

    mutating func filter(_ range: TimeRange, column: String) {
        if let lower = range.lowerBound { filter("\(column) \(range.lowerInclusive ? ">=" : ">") ?", [lower]) }
        if let upper = range.upperBound { filter("\(column) \(range.upperInclusive ? "<=" : "<") ?", [upper]) }
    }

    func page<T>(
        _ db: SQLConnection, from table: String, select: String, page request: PageRequest,
        decode: (SQLRow) async throws -> T, position: (SQLRow) throws -> (Int64, String)
    ) async throws -> Page<T> {
        var conditions = self.conditions
        var arguments = self.arguments
        let descending = request.order == .descending
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
        arguments.append(request.limit + 1)
        var rows = try await db.fetchAll(sql, arguments)
        let hasMore = rows.count > request.limit
        if hasMore { rows.removeLast() }
        if backwards { rows.reverse() }
        var items: [T] = []
        for row in rows { items.append(try await decode(row)) }
        guard let first = rows.first, let last = rows.last else { return Page(items: items) }
        let firstPosition = try position(first)
        let lastPosition = try position(last)
        let nextCursor = Cursor(direction: .after, position: lastPosition.0, id: lastPosition.1)
        let previousCursor = Cursor(direction: .before, position: firstPosition.0, id: firstPosition.1)
        if backwards {
            return Page(items: items, next: nextCursor, previous: hasMore ? previousCursor : nil)
        }
        return Page(items: items, next: hasMore ? nextCursor : nil, previous: request.cursor == nil ? nil : previousCursor)
    }
}

extension PostgresStore {
    /// One page in the `after_id`/`before_id` style over `(sortColumn, id)`, within `conditions`.
    static func idPage<T>(
        _ db: SQLConnection, table: String, select: String, sortColumn: String, conditions: [String] = [],
        arguments: [any SQLValueConvertible] = [], page: IDPageRequest, decode: (SQLRow) throws -> T
    ) async throws -> IDPage<T> {
        if page.afterID != nil, page.beforeID != nil {
            throw APIError.invalidRequest("after_id, before_id: send one or the other, not both")
        }
        var conditions = conditions
        var values = arguments
        let descending = page.order == .descending
        for (name, id, forward) in [("after_id", page.afterID, true), ("before_id", page.beforeID, false)] {
            guard let id else { continue }
            let scope = conditions.isEmpty ? "" : " AND " + conditions.joined(separator: " AND ")
            guard let position = try await db.scalar(Int64.self, "SELECT \(sortColumn) FROM \(table) WHERE id = ?\(scope)", [id] + values) else {
                throw APIError.invalidRequest("\(name): '\(id)' is not an item of this list")
            }
            let comparison = (forward == descending) ? "<" : ">"
            conditions.append("(\(sortColumn) \(comparison) ? OR (\(sortColumn) = ? AND id \(comparison) ?))")
            values += [position, position, id]
        }
        let direction = descending ? "DESC" : "ASC"
        var sql = "SELECT \(select) FROM \(table)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT ?"
        values.append(page.limit + 1)
        var rows = try await db.fetchAll(sql, values)
        let hasMore = rows.count > page.limit
        if hasMore { rows.removeLast() }
        return IDPage(items: try rows.map(decode), hasMore: hasMore)
    }
}
