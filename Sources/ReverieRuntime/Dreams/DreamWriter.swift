import Foundation
import ReverieCore

/// Applies a dream's plan to its output store, reverts operations a reviewer rejects, applies
/// withheld operations a reviewer accepts, and promotes the result into the input store.
/// Every change is a memory version whose actor is the dream (or the reviewer, for what a
/// person decided). Applying is idempotent (each operation moves a path to a target state),
/// so a dream interrupted while writing resumes from its saved plan without doing anything twice.
public struct DreamWriter: Sendable {
    let memory: MemoryService

    public init(memory: MemoryService) {
        self.memory = memory
    }

    /// The store the dream writes: the input store itself (`update_existing`), or a new store
    /// holding a copy of the input's memories (`create_new`), created once and reused on resume.
    public func outputStore(for dream: Dream, created: @Sendable (String) async throws -> Void) async throws -> String {
        if let storeID = dream.inPlaceStoreID { return storeID }
        let storeID: String
        if let existing = dream.outputStoreID {
            storeID = existing
        } else {
            let input = try await memory.memoryStore(id: dream.memoryStoreID)
            let name = String("\(input.name) (dreamed)".prefix(255))
            let description = "Written by dream \(dream.id) from \(input.id) and \(dream.sessionIDs.count) session(s); review it before agents use it."
            storeID = try await memory.createMemoryStore(MemoryStoreRequest(name: name, description: description, metadata: input.metadata)).id
            try await created(storeID)
        }
        let actor = MemoryActor.dream(dream.id)
        let present = Set(try await memory.memoryPaths(storeID: storeID))
        for file in try await memory.memoryFiles(storeID: dream.memoryStoreID) where !present.contains(file.path) {
            try Task.checkCancellation()
            try await memory.createMemory(storeID: storeID, path: file.path, content: file.content, pinned: file.pinned, actor: actor)
        }
        return storeID
    }

    /// Applies every operation that is not rejected, and every withheld one a reviewer accepted.
    public func apply(_ report: DreamReport, dream: Dream, storeID: String) async throws {
        let actor = MemoryActor.dream(dream.id)
        for operation in report.operations where operation.review != .rejected {
            try Task.checkCancellation()
            try await moveTo(operation.target, path: operation.path, storeID: storeID, actor: actor)
        }
    }

    /// Writes a withheld operation a reviewer accepted, as the reviewer. Refused when the path
    /// no longer holds what the dream saw.
    public func applyAccepted(_ operation: DreamOperation, storeID: String, reviewer: MemoryActor) async throws {
        let current = try await memory.readMemory(storeID: storeID, path: operation.path)?.content
        guard current == operation.target || current == operation.previousContent else {
            throw APIError.conflict("memory '\(operation.path)' changed since the dream proposed '\(operation.id)'; change it by hand instead")
        }
        try await moveTo(operation.target, path: operation.path, storeID: storeID, actor: reviewer)
    }

    /// Undoes an applied operation: the path returns to its content before the dream. Refused
    /// when someone changed the memory since the dream wrote it.
    public func revert(_ operation: DreamOperation, dreamID: String, storeID: String) async throws {
        let current = try await memory.readMemory(storeID: storeID, path: operation.path)?.content
        let before = operation.action == .add ? nil : operation.previousContent
        guard current == operation.target || current == before else {
            throw APIError.conflict(
                "memory '\(operation.path)' changed after the dream wrote it; revert it by hand or accept the operation")
        }
        try await moveTo(before, path: operation.path, storeID: storeID, actor: .dream(dreamID))
    }

    /// Puts `content` at `path` (nil deletes it), writing nothing when it is already so.
    func moveTo(_ content: String?, path: String, storeID: String, actor: MemoryActor) async throws {
        let current = try await memory.readMemory(storeID: storeID, path: path)
        if let content {
            if current?.content != content {
                try await memory.writeMemory(storeID: storeID, path: path, content: content, actor: actor)
            }
        } else if current != nil {
            try await memory.deleteMemory(storeID: storeID, path: path, actor: actor)
        }
    }
}

extension DreamOperation {
    /// What the path holds once the operation is applied (nil: no memory).
    var target: String? { action == .delete ? nil : content }
}
