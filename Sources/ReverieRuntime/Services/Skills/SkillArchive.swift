import Foundation
import ReverieCore
import ZIPFoundation

/// A skill uploaded as one zip archive: its regular files become the skill's uploads (their
/// paths checked like any upload's). Links and other special entries are skipped, and the
/// files may take at most `limit` bytes once unpacked (a small archive cannot expand without
/// bound).
enum SkillArchive {
    static func isZip(_ upload: SkillService.Upload) -> Bool {
        upload.content.starts(with: [0x50, 0x4B, 0x03, 0x04]) || upload.path.lowercased().hasSuffix(".zip")
    }

    static func uploads(from zip: Data, limit: Int) throws -> [SkillService.Upload] {
        let archive: Archive
        do {
            archive = try Archive(data: zip, accessMode: .read)
        } catch {
            throw APIError.invalidRequest("files: the zip archive cannot be read")
        }
        var uploads: [SkillService.Upload] = []
        var total = 0
        for entry in archive where entry.type == .file {
            total += Int(entry.uncompressedSize)
            guard total <= limit else {
                throw APIError(.requestTooLarge, "files: the archive unpacks to more than the \(limit) bytes this server accepts")
            }
            var content = Data()
            do {
                _ = try archive.extract(entry) { chunk in
                    content.append(chunk)
                    if content.count > Int(entry.uncompressedSize) { throw APIError.invalidRequest("files: '\(entry.path)' is larger than the archive says") }
                }
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError.invalidRequest("files: '\(entry.path)' in the zip archive cannot be read")
            }
            uploads.append(SkillService.Upload(path: entry.path, content: content))
        }
        return uploads
    }
}
