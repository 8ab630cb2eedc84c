/// A page request in the `after_id`/`before_id` style (the SDK's `SyncPage`):
/// `after_id` returns the items right after that item in list order; `before_id` returns the
/// first `limit` items that come before it in list order (not the `limit` just before it).
public struct IDPageRequest: Sendable, Equatable {
    public var limit: Int
    public var afterID: String?
    public var beforeID: String?
    public var order: ListOrder

    public init(limit: Int = 20, afterID: String? = nil, beforeID: String? = nil, order: ListOrder = .descending) {
        self.limit = limit
        self.afterID = afterID
        self.beforeID = beforeID
        self.order = order
    }
}

/// One page in the `SyncPage` shape: `{data, has_more, first_id, last_id}`.
public struct IDPage<Item: Sendable>: Sendable {
    public var items: [Item]
    public var hasMore: Bool

    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}
