import ReverieModels

/// The catalog routes agents' models: each call is retried with the provider's policy.
extension ModelCatalog: ModelRouting {
    public func provider(for model: String) throws -> any ModelProvider {
        try resolve(model).retrying()
    }
}
