import ReverieCore

extension MemoryService {
    /// The directory memory stores are mounted under in a session's sandbox.
    public static let memoryMountRoot = "/mnt/memory"

    /// The mount of a memory store into a session: the store must exist and not be archived
    /// (else 400 naming `resources[i].memory_store_id`). Snapshots the store's name and
    /// description and derives `mount_path` (`/mnt/memory/<slug>`) from the name.
    func resolveMount(_ request: MemoryMountRequest) async throws -> MemoryStoreMount {
        let (storeID, field) = (request.memoryStoreID, request.field)
        guard let memoryStore = try await store.memoryStore(id: storeID) else {
            throw APIError.invalidRequest("\(field): memory store '\(storeID)' not found")
        }
        if memoryStore.archivedAt != nil {
            throw APIError.invalidRequest("\(field): memory store '\(storeID)' is archived and can't be attached to new sessions")
        }
        return MemoryStoreMount(
            memoryStoreID: storeID, access: request.access, instructions: request.instructions, name: memoryStore.name,
            description: memoryStore.description, mountPath: Self.memoryMountRoot + "/" + memoryStore.slug)
    }

    /// Makes the mount paths of a session's stores unique: when two stores' names give the
    /// same slug, later ones get `-2`, `-3`, … (`/mnt/memory/notes`, `/mnt/memory/notes-2`).
    /// Call once on the parsed resources of a session.
    public static func uniqueMountPaths(_ resources: [SessionResource]) -> [SessionResource] {
        var taken: Set<String> = []
        return resources.map { resource in
            guard case .memoryStore(var mount) = resource, let base = mount.mountPath else { return resource }
            var candidate = base
            var suffix = 2
            while taken.contains(candidate) {
                candidate = "\(base)-\(suffix)"
                suffix += 1
            }
            taken.insert(candidate)
            mount.mountPath = candidate
            return .memoryStore(mount)
        }
    }
}
