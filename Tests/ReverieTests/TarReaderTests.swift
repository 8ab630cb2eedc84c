import Foundation
import Testing
@testable import ReverieRuntime

/// The ustar reader a worker unpacks skills with: what `TarArchive` writes reads back, and an
/// archive that would write outside its folder, or is damaged, is refused.
@Suite struct TarReaderTests {
    func header(path: String, size: Int, type: UInt8 = UInt8(ascii: "0"), checksumDelta: Int = 0) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        for (index, byte) in path.utf8.enumerated() { header[index] = byte }
        for (index, byte) in String(format: "%011o", size).utf8.enumerated() { header[124 + index] = byte }
        header[156] = type
        for (index, byte) in "ustar".utf8.enumerated() { header[257 + index] = byte }
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) } + checksumDelta
        for (index, byte) in String(format: "%06o", sum).utf8.enumerated() { header[148 + index] = byte }
        header[154] = 0
        return header
    }

    func archive(_ entries: [(path: String, content: String, type: UInt8)]) -> Data {
        var data = Data()
        for entry in entries {
            data.append(contentsOf: header(path: entry.path, size: entry.content.utf8.count, type: entry.type))
            data.append(contentsOf: Array(entry.content.utf8))
            data.append(contentsOf: [UInt8](repeating: 0, count: (512 - entry.content.utf8.count % 512) % 512))
        }
        return data + Data(count: 1024)
    }

    @Test func whatTheServerWritesReadsBack() throws {
        var written = TarArchive()
        let long = "csv-report/" + String(repeating: "nested/", count: 16) + "deep.txt"
        try written.add(path: "csv-report/SKILL.md", content: Data("---\nname: csv-report\n---\n".utf8), modified: Date())
        try written.add(path: long, content: Data(count: 1500), modified: Date())
        try written.add(path: "csv-report/empty.txt", content: Data(), modified: Date())
        let files = try TarReader.files(in: written.bytes)
        #expect(files.map(\.path) == ["csv-report/SKILL.md", long, "csv-report/empty.txt"])
        #expect(files.first?.content == Data("---\nname: csv-report\n---\n".utf8))
        #expect(files[1].content == Data(count: 1500))
    }

    @Test func linksAndFoldersAreSkipped() throws {
        let files = try TarReader.files(in: archive([
            ("skill/", "", UInt8(ascii: "5")), ("skill/link", "", UInt8(ascii: "2")), ("skill/a.txt", "a", UInt8(ascii: "0")),
        ]))
        #expect(files.map(\.path) == ["skill/a.txt"])
    }

    @Test func pathsThatLeaveTheFolderAndDamagedArchivesAreRefused() {
        for path in ["../escape.txt", "skill/../../escape.txt", "/etc/passwd", "skill//x", "skill/./x"] {
            #expect(throws: TarReader.Failure.self, "\(path)") { try TarReader.files(in: archive([(path, "x", UInt8(ascii: "0"))])) }
        }
        var damaged = [UInt8](archive([("skill/a.txt", "a", UInt8(ascii: "0"))]))
        damaged[0] = UInt8(ascii: "S")
        #expect(throws: TarReader.Failure.self) { try TarReader.files(in: Data(damaged)) }
        let whole = archive([("skill/a.txt", String(repeating: "a", count: 2000), UInt8(ascii: "0"))])
        #expect(throws: TarReader.Failure.self) { try TarReader.files(in: whole.prefix(1024)) }
    }
}
