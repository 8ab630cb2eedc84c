import ReverieCore

extension Platform {
    /// The mount of a memory store into a session.
    func resolveMount(storeID: String, access: MemoryAccess, instructions: String?, at reader: ObjectReader) async throws -> MemoryStoreMount {
        MemoryStoreMount(memoryStoreID: storeID, access: access, instructions: instructions)
    }
}
