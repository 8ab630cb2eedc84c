import Foundation
import Mustache

/// The console's Mustache templates and static files, read once from the module's resources.
/// `{{name}}` escapes HTML (`< > & " '`); the only triple-mustache in the templates is the
/// layout's `{{{body}}}`, which is itself the output of an escaping template.
struct ConsoleTemplates: Sendable {
    let library: MustacheLibrary
    /// `console.css`, `console.js`, … by file name.
    let staticFiles: [String: StaticFile]

    struct StaticFile: Sendable {
        let contentType: String
        let bytes: [UInt8]
    }

    enum LoadFailure: Error, CustomStringConvertible {
        case missingResources
        case template(String, String)
        var description: String {
            switch self {
            case .missingResources: "the console's templates are missing from the module's resources"
            case .template(let name, let error): "console template \(name) does not parse: \(error)"
            }
        }
    }

    init() throws {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
              let statics = Bundle.module.url(forResource: "Static", withExtension: nil)
        else { throw LoadFailure.missingResources }
        var library = MustacheLibrary()
        let manager = FileManager.default
        for name in try manager.contentsOfDirectory(atPath: templates.path).sorted() where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            do {
                try library.register(text, named: String(name.dropLast(".mustache".count)))
            } catch {
                throw LoadFailure.template(name, "\(error)")
            }
        }
        var files: [String: StaticFile] = [:]
        for name in try manager.contentsOfDirectory(atPath: statics.path) {
            let type: String
            switch (name as NSString).pathExtension {
            case "css": type = "text/css; charset=utf-8"
            case "js": type = "text/javascript; charset=utf-8"
            case "svg": type = "image/svg+xml"
            default: continue
            }
            let data = try Data(contentsOf: statics.appendingPathComponent(name))
            files[name] = StaticFile(contentType: type, bytes: Array(data))
        }
        self.library = library
        self.staticFiles = files
    }

    /// Renders a template; a template that is not there renders as an empty string, which the
    /// tests of every page would notice.
    /// Empty strings are dropped first, so `{{#name}}…{{/name}}` means "present and not empty",
    /// and each non-empty list `name` gains a `has_name` flag for headings around it.
    func render(_ name: String, _ data: [String: Any]) -> String {
        library.render(Self.pruned(data), withTemplate: name) ?? ""
    }

    static func pruned(_ value: Any) -> Any {
        switch value {
        case let dictionary as [String: Any]:
            var result: [String: Any] = [:]
            for (key, member) in dictionary {
                if let text = member as? String, text.isEmpty { continue }
                if let list = member as? [Any], !list.isEmpty { result["has_" + key] = true }
                result[key] = pruned(member)
            }
            return result
        case let array as [[String: Any]]:
            return array.map { pruned($0) }
        case let array as [Any]:
            return array.map(pruned)
        default:
            return value
        }
    }
}
