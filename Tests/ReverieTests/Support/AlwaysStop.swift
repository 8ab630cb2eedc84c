/// Runs `body`, then `stop` — also when `body` throws (fixtures that own servers).
func run<T>(_ body: () async throws -> T, thenStop stop: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await stop()
        throw error
    }
    await stop()
    return result
}
