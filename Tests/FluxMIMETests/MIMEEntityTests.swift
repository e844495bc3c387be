import Foundation
import XCTest
@testable import FluxMIME

final class MIMEEntityTests: XCTestCase {
    func testCRLFEntityKeepsExactBytes() throws {
        let head = "Content-Type: text/plain; charset=us-ascii\r\ncontent-transfer-encoding:  7BIT \r\n"
        let data = bytes(head + "\r\nline 1\r\nline 2\r\n")
        let e = try MIMEEntity.parse(data)
        XCTAssertEqual(e.raw, data)
        XCTAssertEqual(e.headerBytes, bytes(head))
        XCTAssertEqual(e.body, bytes("line 1\r\nline 2\r\n"))
        XCTAssertEqual(e.headers.fields.map(\.name), ["Content-Type", "content-transfer-encoding"])
        XCTAssertEqual(e.headers["CONTENT-TYPE"], "text/plain; charset=us-ascii")
        XCTAssertEqual(e.transferEncoding, "7bit")
        XCTAssertEqual(e.contentType?.mediaType, "text/plain")
    }

    func testLFOnlyHeaderBlock() throws {
        let data = bytes("Content-Type: application/xml\nX-A: 1\n\n<a/>\n")
        let e = try MIMEEntity.parse(data)
        XCTAssertEqual(e.headerBytes, bytes("Content-Type: application/xml\nX-A: 1\n"))
        XCTAssertEqual(e.body, bytes("<a/>\n"))
        XCTAssertEqual(e.headers["x-a"], "1")
        XCTAssertNil(e.transferEncoding, "absent CTE stays nil (AS2: treat as binary)")
    }

    func testFoldedHeadersAreUnfoldedButBytesKept() throws {
        let head = "Content-Type: multipart/signed;\r\n\tprotocol=\"application/pkcs7-signature\";\r\n   micalg=sha-256;\r\n boundary=\"b1\"\r\nSubject: a\r\n  b\r\n"
        let e = try MIMEEntity.parse(bytes(head + "\r\n"))
        XCTAssertEqual(e.headers["content-type"], "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b1\"")
        XCTAssertEqual(e.headers["Subject"], "a b")
        XCTAssertEqual(e.headerBytes, bytes(head))
        XCTAssertEqual(e.contentType?[parameter: "boundary"], "b1")
        XCTAssertEqual(e.contentType?[parameter: "MICALG"], "sha-256")
        XCTAssertTrue(e.body.isEmpty)
    }

    func testDuplicateHeadersAndAll() throws {
        let e = try MIMEEntity.parse(bytes("Received: a\r\nreceived: b\r\nX: 1\r\n\r\n"))
        XCTAssertEqual(e.headers["RECEIVED"], "a")
        XCTAssertEqual(e.headers.all("Received"), ["a", "b"])
        XCTAssertEqual(e.headers.all("Missing"), [])
        XCTAssertNil(e.headers["Missing"])
    }

    func testNoHeadersAndHeadersOnly() throws {
        let noHeaders = try MIMEEntity.parse(bytes("\r\nbody only\r\n"))
        XCTAssertTrue(noHeaders.headers.fields.isEmpty)
        XCTAssertTrue(noHeaders.headerBytes.isEmpty)
        XCTAssertEqual(noHeaders.body, bytes("body only\r\n"))
        XCTAssertNil(noHeaders.contentType)

        let lfNoHeaders = try MIMEEntity.parse(bytes("\nx"))
        XCTAssertEqual(lfNoHeaders.body, bytes("x"))

        let headersOnly = try MIMEEntity.parse(bytes("A: 1\r\nB: 2\r\n"))
        XCTAssertEqual(headersOnly.headers.fields.count, 2)
        XCTAssertEqual(headersOnly.headerBytes, bytes("A: 1\r\nB: 2\r\n"))
        XCTAssertTrue(headersOnly.body.isEmpty)

        let unterminated = try MIMEEntity.parse(bytes("A: 1\r\nB: 2"))
        XCTAssertEqual(unterminated.headers["b"], "2")
        XCTAssertEqual(unterminated.headerBytes, bytes("A: 1\r\nB: 2"))

        let empty = try MIMEEntity.parse(Data())
        XCTAssertTrue(empty.headers.fields.isEmpty && empty.body.isEmpty)
    }

    func testMalformedHeaderBlocks() {
        XCTAssertMIMEError("mime-header") { try MIMEEntity.parse(bytes("Content-Type text/plain\r\n\r\nx")) }
        XCTAssertMIMEError("mime-header") { try MIMEEntity.parse(bytes(" folded: first\r\n\r\n")) }
        XCTAssertMIMEError("mime-header") { try MIMEEntity.parse(bytes(": no name\r\n\r\n")) }
        XCTAssertMIMEError("mime-header") { try MIMEEntity.parse(bytes("Bad Name: x\r\n\r\n")) }
        XCTAssertMIMEError("mime-header") { try MIMEEntity.parse(bytes("<?xml version=\"1.0\"?>\n<a/>\n")) }
    }

    func testObsoleteSpaceBeforeColonAndEmptyValue() throws {
        let e = try MIMEEntity.parse(bytes("Content-Type : text/plain\r\nX-Empty:\r\n\r\n"))
        XCTAssertEqual(e.headers["content-type"], "text/plain")
        XCTAssertEqual(e.headers["x-empty"], "")
    }

    func testNonASCIIHeaderBytesDoNotCrash() throws {
        var data = bytes("Subject: caf")
        data.append(0xE9)                                   // Latin-1 é, invalid UTF-8
        data.append(bytes("\r\nX-UTF8: caf\u{e9}\r\nX-Ctl: a\u{0}b\r\n\r\nbody"))
        let e = try MIMEEntity.parse(data)
        XCTAssertEqual(e.headers["subject"], "caf\u{e9}")
        XCTAssertEqual(e.headers["x-utf8"], "caf\u{e9}")
        XCTAssertEqual(e.headers["x-ctl"]?.count, 3)
        XCTAssertEqual(e.body, bytes("body"))
    }

    func testSliceInputIsRebased() throws {
        let big = bytes("XXXXContent-Type: text/plain\r\n\r\nhello")
        let slice = big[4...]
        XCTAssertNotEqual(slice.startIndex, 0)
        let e = try MIMEEntity.parse(slice)
        XCTAssertEqual(e.raw.startIndex, 0)
        XCTAssertEqual(e.body.startIndex, 0)
        XCTAssertEqual(e.body[0], UInt8(ascii: "h"))
        XCTAssertEqual(e.headerBytes.startIndex, 0)
        XCTAssertEqual(e.raw, Data(slice))
    }

    func testHeaderByteLimit() {
        let limits = MIMELimits(maxHeaderBytes: 100, maxHeaderCount: 10, maxParts: 4)
        let ok = "X: " + String(repeating: "a", count: 95) + "\r\n"   // exactly 100 bytes
        XCTAssertNoThrow(try MIMEEntity.parse(bytes(ok + "\r\nbody"), limits: limits))
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes("X: " + String(repeating: "a", count: 96) + "\r\n\r\n"), limits: limits) }
        // A single endless line is cut off at the budget, not scanned to the end.
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(Data(repeating: 0x41, count: 70_000)) }
        // Default: 64 KiB of folded header.
        var folded = "X-Big: a\r\n"
        while folded.utf8.count <= 64 * 1024 { folded += " continuation continuation continuation\r\n" }
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes(folded + "\r\n")) }
    }

    func testHeaderCountLimit() {
        let limits = MIMELimits(maxHeaderCount: 3)
        XCTAssertNoThrow(try MIMEEntity.parse(bytes("A: 1\r\nB: 2\r\nC: 3\r\n\r\n"), limits: limits))
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), limits: limits) }
        let many = String(repeating: "X: y\r\n", count: 257) + "\r\n"
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes(many)) }
    }

    func testFileName() throws {
        let cd = try MIMEEntity.parse(bytes("Content-Type: application/xml; name=other.xml\r\nContent-Disposition: attachment; filename=\"inv 1.xml\"\r\n\r\n"))
        XCTAssertEqual(cd.fileName, "inv 1.xml")
        XCTAssertEqual(cd.contentDisposition?.type, "attachment")
        let ct = try MIMEEntity.parse(bytes("Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n\r\n"))
        XCTAssertEqual(ct.fileName, "smime.p7m")
        let star = try MIMEEntity.parse(bytes("Content-Disposition: attachment; filename*=UTF-8''facture%20n%C2%B01.xml\r\n\r\n"))
        XCTAssertEqual(star.fileName, "facture n\u{b0}1.xml")
        let none = try MIMEEntity.parse(bytes("Content-Type: text/plain\r\n\r\n"))
        XCTAssertNil(none.fileName)
    }

    func testFromHTTPKeepsMIMEHeadersOnly() {
        let headers: [(name: String, value: String)] = [
            ("Host", "gw.example"),
            ("content-type", "multipart/signed; boundary=\"b\"; micalg=sha-256"),
            ("AS2-From", "PARTNER"),
            ("Content-Length", "123"),
            ("MIME-Version", "1.0"),
            ("Content-Transfer-Encoding", " Binary "),
            ("Content-Encoding", "gzip"),
            ("Content-Disposition", "attachment;\r\n filename=x.bin"),
        ]
        let body = bytes("--b\r\n\r\nx\r\n--b--\r\n")
        let e = MIMEEntity.fromHTTP(headers: headers, body: body)
        let expectedHead = "content-type: multipart/signed; boundary=\"b\"; micalg=sha-256\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: Binary\r\nContent-Disposition: attachment;   filename=x.bin\r\n"
        XCTAssertEqual(String(decoding: e.headerBytes, as: UTF8.self), expectedHead)
        XCTAssertEqual(e.raw, bytes(expectedHead + "\r\n") + body)
        XCTAssertEqual(e.body, body)
        XCTAssertEqual(e.transferEncoding, "binary")
        XCTAssertNil(e.headers["AS2-From"])
        XCTAssertNil(e.headers["Content-Length"])
        XCTAssertEqual(e.contentType?[parameter: "boundary"], "b")
        XCTAssertEqual(e.fileName, "x.bin")
        // The body can be split as is: the outer entity behaves like a parsed one.
        XCTAssertEqual(try e.parts().first?.body, bytes("x"))
    }
}

extension MIMEEntityTests {
    func testNonASCIIFieldNameIsAcceptedLossily() throws {
        var data = Data("X-Caf".utf8)
        data.append(0xE9)
        data.append(Data(": 1\r\n\r\n".utf8))
        let e = try MIMEEntity.parse(data)
        XCTAssertEqual(e.headers.fields.first?.name, "X-Caf\u{e9}")
        XCTAssertEqual(e.headers.fields.first?.value, "1")
    }
}
