#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `posix_spawn` file actions that the C library has but Swift's module does not show
/// (`posix_spawn_file_actions_addclosefrom_np`, `…_addchdir_np`), looked up once by name.
enum SpawnFileActions {
    #if os(Linux)
    typealias Actions = posix_spawn_file_actions_t
    #else
    typealias Actions = posix_spawn_file_actions_t?
    #endif
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<Actions>, Int32) -> Int32
    private typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<Actions>, UnsafePointer<CChar>) -> Int32

    private static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let changeDirectory: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<Function>(_ name: String) -> Function? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }

    /// Closes every descriptor from 3 up in the child, so that it gets its standard streams
    /// and nothing else of this process even where a descriptor lacks close-on-exec. Without
    /// the C library's support (glibc before 2.34) close-on-exec descriptors are all it has.
    static func closeInheritedDescriptors(_ actions: inout Actions) {
        _ = closeFrom?(&actions, 3)
    }

    /// Starts the child in `directory`; false when the C library cannot (glibc before 2.29).
    static func changeDirectory(_ actions: inout Actions, to directory: String) -> Bool {
        guard let changeDirectory else { return false }
        return changeDirectory(&actions, directory) == 0
    }
}
