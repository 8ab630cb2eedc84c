/// A command that could not do what was asked (something named does not exist, a file cannot
/// be read): printed as `Error: …` without the usage text, exit status 1. Malformed
/// arguments are `ValidationError`s instead.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
