@testable import ReverieExecution
@testable import ReverieRuntime
import Foundation
import ReverieCore
import Testing

@Suite(.timeLimit(.minutes(3))) struct ReadToolTests {
    @Test func numbersLinesLikeCatN() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("a.txt", "one\ntwo\nthree\n")
            let output = await ReadTool().run(["file_path": "a.txt"], in: fixture.sandbox)
            #expect(!output.isError)
            #expect(output.text == "     1\tone\n     2\ttwo\n     3\tthree\n")
            // Without a final newline, and with CRLF line ends.
            try fixture.put("b.txt", "x\r\ny")
            #expect(await ReadTool().run(["file_path": "/workspace/b.txt"], in: fixture.sandbox).text == "     1\tx\r\n     2\ty\n")
            try fixture.put("empty.txt", "")
            #expect(await ReadTool().run(["file_path": "empty.txt"], in: fixture.sandbox).text.contains("is empty"))
        }
    }

    @Test func viewRangeEdges() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("ten.txt", (1...10).map { "line \($0)" }.joined(separator: "\n") + "\n")
            let read = { (range: JSONValue) in await ReadTool().run(["file_path": "ten.txt", "view_range": range], in: fixture.sandbox) }
            let middle = await read([3, 4])
            #expect(middle.text.hasPrefix("     3\tline 3\n     4\tline 4\n"))
            #expect(middle.text.contains("(lines 3-4 of 10)"))
            #expect(await read([10, 10]).text.hasPrefix("    10\tline 10\n"))
            #expect(await read([9, 0]).text.hasPrefix("     9\tline 9\n    10\tline 10\n"))
            #expect(await read([9, -1]).text.hasPrefix("     9\tline 9\n    10\tline 10\n"))
            #expect(await read([8, 50]).text.hasPrefix("     8\tline 8\n     9\tline 9\n    10\tline 10\n"))
            #expect(await read([1, 0]).text == (1...10).map { String(repeating: " ", count: $0 < 10 ? 5 : 4) + "\($0)\tline \($0)\n" }.joined())

            let past = await read([11, 12])
            #expect(past.isError)
            #expect(past.text.contains("has 10 line(s)"))
            let zero = await read([0, 3])
            #expect(zero.isError)
            #expect(zero.text.contains("1-indexed"))
            let backwards = await read([5, 4])
            #expect(backwards.isError)
            #expect(backwards.text.contains("before start_line"))
            #expect(await read([1]).isError)
            #expect(await read("1-3").isError)
        }
    }

    @Test func errorsNameTheProblem() async throws {
        try await SandboxFixture.with { fixture in
            let missing = await ReadTool().run(["file_path": "nope.txt"], in: fixture.sandbox)
            #expect(missing.isError)
            #expect(missing.text.contains("/workspace/nope.txt: no such file"))
            let noPath = await ReadTool().run([:], in: fixture.sandbox)
            #expect(noPath.isError)
            #expect(noPath.text.contains("file_path is required"))
            let wrongType = await ReadTool().run(["file_path": 3], in: fixture.sandbox)
            #expect(wrongType.text.contains("file_path must be a string"))
            #expect(await ReadTool().run("text", in: fixture.sandbox).isError)
            try fixture.put("dir/x.txt", "x")
            #expect(await ReadTool().run(["file_path": "dir"], in: fixture.sandbox).text.contains("is a directory"))
            try fixture.put("bin.dat", "ab\0cd")
            let binary = await ReadTool().run(["file_path": "bin.dat"], in: fixture.sandbox)
            #expect(binary.isError)
            #expect(binary.text.contains("binary"))
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct WriteToolTests {
    @Test func createsFoldersAndReplacesFiles() async throws {
        try await SandboxFixture.with { fixture in
            let created = await WriteTool().run(["file_path": "deep/er/new.txt", "content": "a\nb\n"], in: fixture.sandbox)
            #expect(!created.isError)
            #expect(created.text.contains("Created /workspace/deep/er/new.txt (2 line(s)"))
            #expect(fixture.contents(fixture.host("deep/er/new.txt")) == "a\nb\n")
            let replaced = await WriteTool().run(["file_path": "/workspace/deep/er/new.txt", "content": "c"], in: fixture.sandbox)
            #expect(replaced.text.hasPrefix("Replaced"))
            #expect(fixture.contents(fixture.host("deep/er/new.txt")) == "c")

            let report = await WriteTool().run(["file_path": "/mnt/session/outputs/report.md", "content": "# Done\n"], in: fixture.sandbox)
            #expect(!report.isError)
            #expect(fixture.contents(fixture.sandbox.outputs.root.appendingPathComponent("report.md")) == "# Done\n")
        }
    }

    @Test func refusesBadInput() async throws {
        try await SandboxFixture.with { fixture in
            #expect(await WriteTool().run(["file_path": "x.txt"], in: fixture.sandbox).text.contains("content is required"))
            #expect(await WriteTool().run(["file_path": "/workspace", "content": "x"], in: fixture.sandbox).text.contains("is a directory"))
            let outside = await WriteTool().run(["file_path": "../escape.txt", "content": "x"], in: fixture.sandbox)
            #expect(outside.isError)
            #expect(outside.text.contains("leaves the sandbox"))
            let absolute = await WriteTool().run(["file_path": "/etc/reverie.txt", "content": "x"], in: fixture.sandbox)
            #expect(absolute.isError)
            #expect(absolute.text.contains("outside the sandbox"))
            #expect(!FileManager.default.fileExists(atPath: fixture.sandbox.workspace.root.deletingLastPathComponent().appendingPathComponent("escape.txt").path))
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct EditToolTests {
    let source = "func a() {\n    return 1\n}\n\nfunc b() {\n    return 1\n}\n"

    @Test func replacesAUniqueString() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("code.swift", source)
            let output = await EditTool().run(
                ["file_path": "code.swift", "old_string": "func b() {\n    return 1", "new_string": "func b() {\n    return 2"], in: fixture.sandbox)
            #expect(!output.isError)
            #expect(output.text.contains("Replaced 1 occurrence in /workspace/code.swift"))
            #expect(output.text.contains("     6\t    return 2"))
            #expect(fixture.contents(fixture.host("code.swift")) == source.replacingOccurrences(of: "b() {\n    return 1", with: "b() {\n    return 2"))
        }
    }

    @Test func severalMatchesNeedReplaceAll() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("code.swift", source)
            let ambiguous = await EditTool().run(["file_path": "code.swift", "old_string": "return 1", "new_string": "return 0"], in: fixture.sandbox)
            #expect(ambiguous.isError)
            #expect(ambiguous.text.contains("occurs 2 times"))
            #expect(ambiguous.text.contains("lines 2, 6"))
            #expect(ambiguous.text.contains("replace_all"))
            #expect(fixture.contents(fixture.host("code.swift")) == source)

            let all = await EditTool().run(["file_path": "code.swift", "old_string": "return 1", "new_string": "return 0", "replace_all": true], in: fixture.sandbox)
            #expect(!all.isError)
            #expect(all.text.contains("Replaced all 2 occurrences"))
            #expect(fixture.contents(fixture.host("code.swift")) == source.replacingOccurrences(of: "return 1", with: "return 0"))
        }
    }

    @Test func notFoundQuotesAHint() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("code.swift", source)
            let indentation = await EditTool().run(["file_path": "code.swift", "old_string": "func b() {\n  return 1", "new_string": "x"], in: fixture.sandbox)
            #expect(indentation.isError)
            #expect(indentation.text.contains("old_string was not found in /workspace/code.swift"))
            #expect(indentation.text.contains("\"func b() {\" is at line 5"))

            let absent = await EditTool().run(["file_path": "code.swift", "old_string": "func c()", "new_string": "x"], in: fixture.sandbox)
            #expect(absent.text.contains("Not even its first line \"func c()\""))

            try fixture.put("crlf.txt", "alpha\r\nbeta\r\n")
            let lineEnds = await EditTool().run(["file_path": "crlf.txt", "old_string": "alpha\nbeta", "new_string": "x"], in: fixture.sandbox)
            #expect(lineEnds.text.contains("whitespace at line ends"))
            #expect(fixture.contents(fixture.host("code.swift")) == source)
        }
    }

    @Test func refusesPointlessOrImpossibleEdits() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("a.txt", "abc")
            #expect(await EditTool().run(["file_path": "a.txt", "old_string": "", "new_string": "x"], in: fixture.sandbox).text.contains("old_string is empty"))
            #expect(await EditTool().run(["file_path": "a.txt", "old_string": "b", "new_string": "b"], in: fixture.sandbox).text.contains("identical"))
            #expect(await EditTool().run(["file_path": "b.txt", "old_string": "a", "new_string": "b"], in: fixture.sandbox).text.contains("no such file"))
            #expect(await EditTool().run(["file_path": "a.txt", "old_string": "a"], in: fixture.sandbox).text.contains("new_string is required"))
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct GlobTests {
    @Test func patternSyntax() throws {
        let match = { (pattern: String, path: String) throws -> Bool in try GlobPattern(pattern).matches(path) }
        #expect(try match("**/*.swift", "a.swift"))
        #expect(try match("**/*.swift", "x/y/z/a.swift"))
        #expect(try !match("*.swift", "x/a.swift"))
        #expect(try match("src/**/test_*.py", "src/test_a.py"))
        #expect(try match("src/**/test_*.py", "src/deep/er/test_a.py"))
        #expect(try !match("src/**/test_*.py", "lib/test_a.py"))
        #expect(try match("**", "any/thing/at/all"))
        #expect(try match("a?c.txt", "abc.txt"))
        #expect(try !match("a?c.txt", "a/c.txt"))
        #expect(try match("[ab]*.md", "beta.md"))
        #expect(try !match("[ab]*.md", "gamma.md"))
        #expect(try match("[!ab]*.md", "gamma.md"))
        #expect(try match("file[0-9].txt", "file7.txt"))
        #expect(try !match("file[0-9].txt", "filex.txt"))
        #expect(try match("*.{js,ts}", "index.ts"))
        #expect(try match("{src,lib}/**/*.{js,ts}", "lib/a/b.js"))
        #expect(try !match("*.{js,ts}", "index.rs"))
        #expect(try match("\\*.txt", "*.txt"))
        #expect(try !match("\\*.txt", "a.txt"))
        #expect(try match("*", ".hidden"))
        #expect(throws: SandboxError.self) { try GlobPattern("[abc") }
    }

    @Test func listsMatchesNewestFirst() async throws {
        try await SandboxFixture.with { fixture in
            let now = Date()
            try fixture.put("old.swift", "", modified: now.addingTimeInterval(-300))
            try fixture.put("src/new.swift", "", modified: now.addingTimeInterval(-10))
            try fixture.put("src/deep/middle.swift", "", modified: now.addingTimeInterval(-100))
            try fixture.put("src/readme.md", "", modified: now)
            try fixture.put(".git/hooks/x.swift", "", modified: now)
            let all = await GlobTool().run(["pattern": "**/*.swift"], in: fixture.sandbox)
            #expect(!all.isError)
            #expect(all.text == "/workspace/src/new.swift\n/workspace/src/deep/middle.swift\n/workspace/old.swift\n")
            #expect(await GlobTool().run(["pattern": "*.swift"], in: fixture.sandbox).text == "/workspace/old.swift\n")
            #expect(await GlobTool().run(["pattern": "*.swift", "path": "src"], in: fixture.sandbox).text == "/workspace/src/new.swift\n")
            #expect(await GlobTool().run(["pattern": "/workspace/src/**/*.swift"], in: fixture.sandbox).text
                == "/workspace/src/new.swift\n/workspace/src/deep/middle.swift\n")
            #expect(await GlobTool().run(["pattern": "src/*.{md,swift}"], in: fixture.sandbox).text
                == "/workspace/src/readme.md\n/workspace/src/new.swift\n")
            #expect(await GlobTool().run(["pattern": "old.swift"], in: fixture.sandbox).text == "/workspace/old.swift\n")
            // .git is skipped unless the pattern names it.
            #expect(await GlobTool().run(["pattern": ".git/**/*.swift"], in: fixture.sandbox).text == "/workspace/.git/hooks/x.swift\n")
            #expect(await GlobTool().run(["pattern": "**/*.rs"], in: fixture.sandbox).text.hasPrefix("No files match **/*.rs"))
        }
    }

    @Test func capsTheCountAndRefusesEscapes() async throws {
        try await SandboxFixture.with { fixture in
            for index in 0..<5 { try fixture.put("f\(index).txt", "") }
            let capped = await GlobTool(maxResults: 3).run(["pattern": "*.txt"], in: fixture.sandbox)
            #expect(capped.text.split(separator: "\n").filter { $0.hasPrefix("/workspace/") }.count == 3)
            #expect(capped.text.contains("Showing the 3 most recently modified of 5 matching files"))
            #expect(await GlobTool().run(["pattern": "/etc/*"], in: fixture.sandbox).isError)
            #expect(await GlobTool().run(["pattern": "../**/*.txt"], in: fixture.sandbox).isError)
            #expect(await GlobTool().run(["pattern": "*", "path": "/etc"], in: fixture.sandbox).isError)
            #expect(await GlobTool().run(["pattern": "[x"], in: fixture.sandbox).text.contains("unterminated ["))
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct GrepToolTests {
    @Test func findsMatchingLines() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("a.swift", "let x = 1\nlet y = 22\nvar z = 333\n")
            try fixture.put("sub/b.swift", "// TODO: one\nprint(\"Todo two\")\n")
            let numbers = await GrepTool().run(["pattern": "\\d{2,}"], in: fixture.sandbox)
            #expect(numbers.text == "/workspace/a.swift:2:let y = 22\n/workspace/a.swift:3:var z = 333\n")
            let anchored = await GrepTool().run(["pattern": "^let"], in: fixture.sandbox)
            #expect(anchored.text == "/workspace/a.swift:1:let x = 1\n/workspace/a.swift:2:let y = 22\n")
            try fixture.put("bin.dat", "TODO\0binary")
            let insensitive = await GrepTool().run(["pattern": "(?i)todo"], in: fixture.sandbox)
            #expect(insensitive.text.hasPrefix("/workspace/sub/b.swift:1:// TODO: one\n/workspace/sub/b.swift:2:print(\"Todo two\")\n"))
            #expect(insensitive.text.contains("[Skipped files: 1 binary.]"))
            let oneFile = await GrepTool().run(["pattern": "z", "path": "/workspace/a.swift"], in: fixture.sandbox)
            #expect(oneFile.text == "/workspace/a.swift:3:var z = 333\n")
            #expect(await GrepTool().run(["pattern": "nothing here"], in: fixture.sandbox).text.hasPrefix("No matches for nothing here"))
            let invalid = await GrepTool().run(["pattern": "(unclosed"], in: fixture.sandbox)
            #expect(invalid.isError)
            #expect(invalid.text.contains("not a valid regular expression"))
            #expect(await GrepTool().run(["pattern": "x", "path": "../"], in: fixture.sandbox).isError)
        }
    }

    @Test func capsMatchesAndLineLength() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("many.txt", (1...50).map { "hit \($0)" }.joined(separator: "\n"))
            try fixture.put("wide.txt", "hit " + String(repeating: "w", count: 1000))
            let capped = await GrepTool(maxMatches: 10, maxLineLength: 40).run(["pattern": "hit"], in: fixture.sandbox)
            let lines = capped.text.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("/workspace/") }.count == 10)
            #expect(capped.text.contains("Stopped after 10 matching lines"))
            let wide = await GrepTool(maxLineLength: 40).run(["pattern": "hit", "path": "wide.txt"], in: fixture.sandbox)
            #expect(wide.text == "/workspace/wide.txt:1:hit " + String(repeating: "w", count: 36) + "…\n")
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct ToolOutputLimitTests {
    @Test func largeOutputsAreSavedToAFile() async throws {
        try await SandboxFixture.with { fixture in
            let content = (1...20_000).map { "row \($0)" }.joined(separator: "\n") + "\n"
            try fixture.put("big.txt", content)
            let output = await ReadTool().run(["file_path": "big.txt"], in: fixture.sandbox)
            #expect(!output.isError)
            #expect(output.text.count < 35_000)
            #expect(output.text.hasPrefix("     1\trow 1\n"))
            let saved = try #require(SavedOutput.path(in: output.text))
            #expect(saved.hasPrefix("/workspace/.reverie/tool-outputs/"))
            #expect(output.text.contains("characters (20000 lines)"))
            let full = try #require(fixture.contents(fixture.host(String(saved.dropFirst("/workspace/".count)))))
            #expect(full == (1...20_000).map { TextLines.numbered($0, "row \($0)") + "\n" }.joined())
            #expect(output.text.contains("it was \(full.count) characters"))

            // Under the limit nothing changes.
            let small = ToolOutput.text(String(repeating: "a", count: 100_000))
            #expect(await ToolOutputLimits.standard.apply(small, in: fixture.sandbox) == small)
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct BuiltinToolsTests {
    @Test func honoursEnabledSettings() {
        let all = BuiltinTools.tools(for: AgentToolset())
        #expect(Set(all.keys) == Set(BuiltinToolName.allCases.map(\.rawValue)))
        for (name, tool) in all { #expect(tool.definition.name == name) }

        let some = BuiltinTools.tools(for: AgentToolset(
            configs: [BuiltinToolConfig(name: .bash, enabled: false, permissionPolicy: .alwaysAllow)],
            defaults: ToolDefaults(permissionPolicy: .alwaysAsk)))
        #expect(some["bash"] == nil)
        #expect(some["read"] != nil)

        let only = BuiltinTools.tools(for: AgentToolset(
            configs: [BuiltinToolConfig(name: .read, enabled: true, permissionPolicy: .alwaysAllow)],
            defaults: ToolDefaults(enabled: false, permissionPolicy: .alwaysAllow)))
        #expect(Array(only.keys) == ["read"])
    }

    @Test func webToolsSayTheyAreUnavailable() async throws {
        try await SandboxFixture.with { fixture in
            let tools = BuiltinTools.tools(for: AgentToolset())
            for name in ["web_fetch", "web_search"] {
                let tool = try #require(tools[name])
                let output = await tool.run(["url": "https://example.com", "query": "x"], in: fixture.sandbox)
                #expect(output.isError)
                #expect(output.text.contains("\(name) is not available in this deployment"))
            }
        }
    }
}

/// Finds the file a truncated output names.
enum SavedOutput {
    static func path(in text: String) -> String? {
        guard let range = text.range(of: #"/workspace/\.reverie/tool-outputs/[A-Za-z0-9_]+\.txt"#, options: .regularExpression) else { return nil }
        return String(text[range])
    }
}

@Suite(.timeLimit(.minutes(3))) struct BashToolTests {
    /// A short default timeout keeps a hung test from hanging the suite.
    let bash = BashTool(configuration: BashTool.Configuration(defaultTimeout: .seconds(20), maxTimeout: .seconds(30)))

    @Test func reportsOutputAndExitCodes() async throws {
        try await SandboxFixture.with { fixture in
            let hello = await bash.run(["command": "echo hello; echo oops >&2"], in: fixture.sandbox)
            #expect(!hello.isError)
            #expect(hello.text == "hello\noops\nExit code: 0")
            let failing = await bash.run(["command": "ls /definitely/missing"], in: fixture.sandbox)
            #expect(!failing.isError)
            #expect(failing.text.contains("No such file or directory"))
            #expect(failing.text.hasSuffix("Exit code: 2"))
            #expect(await bash.run(["command": "(exit 7)"], in: fixture.sandbox).text == "(no output)\nExit code: 7")
            #expect(await bash.run(["command": "printf 'no newline'"], in: fixture.sandbox).text == "no newline\nExit code: 0")
            // A syntax error is reported by eval, not a hang.
            let syntax = await bash.run(["command": "echo \"unterminated"], in: fixture.sandbox)
            #expect(syntax.text.contains("unexpected EOF"))
            #expect(syntax.text.hasSuffix("Exit code: 2"))
            // Quotes, tracing and signals behave as in a terminal.
            #expect(await bash.run(["command": "echo 'it'\"'\"'s' \"$((6*7))\""], in: fixture.sandbox).text == "it's 42\nExit code: 0")
            #expect(await bash.run(["command": "set -x; echo traced; set +x"], in: fixture.sandbox).text.contains("traced\n"))
            #expect(await bash.run(["command": "yes | head -n 2"], in: fixture.sandbox).text == "y\ny\nExit code: 0")
            #expect(await bash.run(["command": "read line; echo \"[$line] $?\""], in: fixture.sandbox).text == "[] 1\nExit code: 0")
        }
    }

    @Test func stateCarriesAcrossCalls() async throws {
        let host = try #require(HostEnvironmentVariable.pick(), "the test process has an environment variable to look for")
        try await SandboxFixture.with { fixture in
            #expect(await bash.run(["command": "pwd"], in: fixture.sandbox).text == "/workspace\nExit code: 0")
            _ = await bash.run(["command": "mkdir -p sub/dir && cd sub/dir && export GREETING=hi && shout() { echo \"$1!\"; }"], in: fixture.sandbox)
            #expect(await bash.run(["command": "pwd"], in: fixture.sandbox).text == "/workspace/sub/dir\nExit code: 0")
            #expect(await bash.run(["command": "echo $GREETING; shout hey"], in: fixture.sandbox).text == "hi\nhey!\nExit code: 0")
            // The server's environment is not inherited.
            #expect(await bash.run(["command": .string("echo \"[$HOME] [${\(host.name):-unset}]\"")], in: fixture.sandbox).text
                == "[/workspace] [unset]\nExit code: 0")
        }
    }

    @Test func virtualPathsMapToTheHostFolders() async throws {
        try await SandboxFixture.with { fixture in
            let output = await bash.run(
                ["command": "echo made > /workspace/made.txt && cp /workspace/made.txt /mnt/session/outputs/copy.txt && ls /mnt/session/outputs && cd /tmp && realpath /workspace/made.txt"],
                in: fixture.sandbox)
            #expect(output.text == "copy.txt\n/workspace/made.txt\nExit code: 0")
            #expect(fixture.contents(fixture.host("made.txt")) == "made\n")
            #expect(fixture.contents(fixture.sandbox.outputs.root.appendingPathComponent("copy.txt")) == "made\n")
            #expect(await ReadTool().run(["file_path": "made.txt"], in: fixture.sandbox).text == "     1\tmade\n")
            // A path merely containing "/workspace" is left alone.
            #expect(await bash.run(["command": "echo /tmp/workspace /workspace2"], in: fixture.sandbox).text == "/tmp/workspace /workspace2\nExit code: 0")
            #expect(bash.definition.description.contains("memory stores (/mnt/memory/...) are ordinary folders"))
        }
    }

    @Test func timeoutKillsTheProcessGroupAndRestarts() async throws {
        try await SandboxFixture.with { fixture in
            _ = await bash.run(["command": "cd /tmp && export MARK=1"], in: fixture.sandbox)
            let started = ContinuousClock.now
            let output = await bash.run(["command": "sleep 30 & echo $!; echo partial; sleep 30", "timeout_ms": 300], in: fixture.sandbox)
            // Not waiting for the background `sleep 30`: its process group was killed.
            #expect(ContinuousClock.now - started < .seconds(25))
            #expect(output.isError)
            #expect(output.text.contains("partial"))
            #expect(output.text.contains("Timed out after 0.3 s"))
            #expect(output.text.contains("restarted"))
            let child = try #require(Int32(output.text.split(separator: "\n").first ?? ""))
            #expect(await ProcessProbe.becomesDead(child))
            // A fresh shell: back in /workspace, variables gone.
            #expect(await bash.run(["command": "pwd; echo \"[${MARK:-}]\""], in: fixture.sandbox).text == "/workspace\n[]\nExit code: 0")
            // Timeouts over the maximum are cut to it.
            let long = await bash.run(["command": "true", "timeout_ms": 3_600_000], in: fixture.sandbox)
            #expect(long.text.contains("ran with a 30 s timeout"))
        }
    }

    @Test func restartFlagStartsAFreshShell() async throws {
        try await SandboxFixture.with { fixture in
            _ = await bash.run(["command": "export KEEP=yes; cd /tmp"], in: fixture.sandbox)
            let restarted = await bash.run(["restart": true], in: fixture.sandbox)
            #expect(!restarted.isError)
            #expect(restarted.text.contains("bash session was restarted"))
            #expect(await bash.run(["command": "echo \"[${KEEP:-}]\"; pwd"], in: fixture.sandbox).text == "[]\n/workspace\nExit code: 0")
            _ = await bash.run(["command": "export KEEP=again"], in: fixture.sandbox)
            let both = await bash.run(["restart": true, "command": "echo \"[${KEEP:-}]\""], in: fixture.sandbox)
            #expect(both.text.hasSuffix("[]\nExit code: 0"))
            #expect(both.text.contains("restarted"))
            #expect(await bash.run([:], in: fixture.sandbox).text.contains("command is required"))
        }
    }

    @Test func shellExitIsReportedAndRecovered() async throws {
        try await SandboxFixture.with { fixture in
            let exited = await bash.run(["command": "echo bye; exit 3"], in: fixture.sandbox)
            #expect(exited.isError)
            #expect(exited.text.contains("bye\n"))
            #expect(exited.text.contains("The shell exited with exit code 3"))
            #expect(await bash.run(["command": "echo back"], in: fixture.sandbox).text == "back\nExit code: 0")
        }
    }

    @Test func concurrentCallsTakeTurns() async throws {
        try await SandboxFixture.with { fixture in
            // Each call logs its start and end; taking turns, one call's pair is never split by the other's.
            async let first = bash.run(["command": "echo first-start >> /workspace/turns.log; sleep 0.2; echo first-end >> /workspace/turns.log; echo first"], in: fixture.sandbox)
            async let second = bash.run(["command": "echo second-start >> /workspace/turns.log; echo second-end >> /workspace/turns.log; echo second"], in: fixture.sandbox)
            let (a, b) = await (first, second)
            #expect(a.text == "first\nExit code: 0")
            #expect(b.text == "second\nExit code: 0")
            let log = await bash.run(["command": "cat /workspace/turns.log"], in: fixture.sandbox).text
            let orders = ["first-start\nfirst-end\nsecond-start\nsecond-end\n", "second-start\nsecond-end\nfirst-start\nfirst-end\n"]
            #expect(orders.map { $0 + "Exit code: 0" }.contains(log), "\(log)")
        }
    }

    @Test func outputCapIsStatedAndFullOutputSaved() async throws {
        try await SandboxFixture.with { fixture in
            // About 49,000 characters: over the inline cap of 30,000.
            let medium = await bash.run(["command": "seq 1 10000"], in: fixture.sandbox)
            #expect(!medium.isError)
            #expect(medium.text.contains("inline output is capped at 30000 characters"))
            #expect(medium.text.hasPrefix("1\n2\n3\n"))
            #expect(medium.text.contains("\n10000\n"))
            #expect(medium.text.hasSuffix("Exit code: 0"))
            #expect(medium.text.count < 31_000)

            // Over 100,000 characters: saved complete, and the result names the file.
            let expected = (1...30_000).map { "\($0)\n" }.joined()
            #expect(expected.count > 100_000)
            let big = await bash.run(["command": "seq 1 30000"], in: fixture.sandbox)
            let saved = try #require(SavedOutput.path(in: big.text))
            #expect(big.text.contains("it was \(expected.count) characters"))
            #expect(fixture.contents(fixture.host(String(saved.dropFirst("/workspace/".count)))) == expected)
            // The model can read it back through the sandbox.
            let head = await ReadTool().run(["file_path": .string(saved), "view_range": [29_999, 0]], in: fixture.sandbox)
            #expect(head.text.hasPrefix(" 29999\t29999\n 30000\t30000\n"))
        }
    }
}
