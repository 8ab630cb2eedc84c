import Foundation
import ReverieCore
@testable import ReverieServer
import Testing

/// The `multipart/form-data` reader behind `POST /v1/files`.
@Suite struct MultipartFormTests {
    static func body(_ text: String) -> Data { Data(text.replacingOccurrences(of: "\n", with: "\r\n").utf8) }

    @Test func partsKeepTheirNamesFileNamesTypesAndExactBytes() throws {
        let data = Self.body("""
            preamble
            --XyZ
            Content-Disposition: form-data; name="file"; filename="dir/a \\"b\\".csv"
            Content-Type: text/csv

            x,y
            --not the boundary
            --XyZ
            Content-Disposition: form-data; name="expires_in_seconds"

            3600
            --XyZ--

            """)
        let boundary = try MultipartForm.boundary(contentType: "multipart/form-data; boundary=\"XyZ\"")
        #expect(boundary == "XyZ")
        let form = try MultipartForm(data, boundary: boundary)
        #expect(form.parts.map(\.name) == ["file", "expires_in_seconds"])
        let file = try #require(form.part("file"))
        #expect(file.filename == "dir/a \"b\".csv")
        #expect(file.contentType == "text/csv")
        #expect(String(decoding: data[file.content], as: UTF8.self) == "x,y\r\n--not the boundary")
        #expect(String(decoding: data[try #require(form.part("expires_in_seconds")).content], as: UTF8.self) == "3600")
    }

    @Test func malformedBodiesAreRefusedWithTheReason() {
        #expect(throws: APIError.self) { try MultipartForm.boundary(contentType: "application/json") }
        #expect(throws: APIError.self) { try MultipartForm.boundary(contentType: "multipart/form-data") }
        let unclosed = Self.body("--b\nContent-Disposition: form-data; name=\"file\"\n\nabc")
        #expect(throws: APIError.invalidRequest("body: a multipart part is not closed by its boundary")) { try MultipartForm(unclosed, boundary: "b") }
        let nameless = Self.body("--b\nContent-Type: text/plain\n\nabc\n--b--")
        #expect(throws: APIError.invalidRequest("body: a multipart part has no content-disposition name")) { try MultipartForm(nameless, boundary: "b") }
        #expect(throws: APIError.invalidRequest("body: no multipart boundary found")) { try MultipartForm(Data("nothing".utf8), boundary: "b") }
    }
}
