import Foundation
import XCTest
@testable import FluxMIME

final class MIMETransferCodingTests: XCTestCase {
    func entity(_ cte: String?, _ body: String) throws -> MIMEEntity {
        try MIMEEntity.parse(bytes((cte.map { "Content-Transfer-Encoding: \($0)\r\n" } ?? "") + "\r\n" + body))
    }

    func testBase64WithMIMELineBreaks() throws {
        let payload = Data((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let encoded = MIMETransferCoding.encodeBase64(payload)
        let lines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
        XCTAssertEqual(lines.dropLast().map(\.count).max(), 76)
        XCTAssertEqual(lines.last, "", "ends with CRLF")
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(encoded), payload)
        XCTAssertEqual(try entity("BASE64", String(decoding: encoded, as: UTF8.self)).decodedBody(), payload)
        // Spaces, tabs and LF-only lines are whitespace too.
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes(" SGVs\tbG8s\nIHdv cmxk\r\n")), bytes("Hello, world"))
    }

    func testBase64PaddingForms() throws {
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YQ==")), bytes("a"))
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YWI=")), bytes("ab"))
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YWJj")), bytes("abc"))
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YQ")), bytes("a"), "missing padding tolerated")
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YWI")), bytes("ab"))
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("YQ=\r\n=\r\n")), bytes("a"))
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(Data()), Data())
        XCTAssertEqual(try MIMETransferCoding.decodeBase64(bytes("\r\n")), Data())
    }

    func testBadBase64() {
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("SGVs*bG8=")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("SGVsbG8=SGVs")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("S===")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("=AAA")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("YQ===")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(bytes("YWJjZ")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeBase64(Data([0x59, 0x51, 0xC3, 0xA9])) }
        XCTAssertMIMEError("mime-encoding") { try self.entity("base64", "not base64!").decodedBody() }
    }

    func testQuotedPrintable() throws {
        XCTAssertEqual(try MIMETransferCoding.decodeQuotedPrintable(bytes("caf=C3=A9 =3D ok=\r\nsoft=\nbreak=  \r\nx")), bytes("caf\u{e9} = oksoftbreakx"))
        XCTAssertEqual(try MIMETransferCoding.decodeQuotedPrintable(bytes("lower=c3=a9")), bytes("lower\u{e9}"))
        // Trailing whitespace before a hard break is transport padding; inner whitespace stays.
        XCTAssertEqual(try MIMETransferCoding.decodeQuotedPrintable(bytes("a b  \r\nc\t\nd  ")), bytes("a b\r\nc\nd"))
        XCTAssertEqual(try MIMETransferCoding.decodeQuotedPrintable(bytes("end=")), bytes("end"))
        XCTAssertEqual(try entity("Quoted-Printable", "x=41").decodedBody(), bytes("xA"))
    }

    func testBadQuotedPrintable() {
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeQuotedPrintable(bytes("a=ZZb")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeQuotedPrintable(bytes("a=4")) }
        XCTAssertMIMEError("mime-encoding") { try MIMETransferCoding.decodeQuotedPrintable(bytes("a= x")) }
    }

    func testIdentityAndUnknownEncodings() throws {
        let body = "line\nwith bare LF\r\n\u{0}"
        for cte in [nil, "7bit", "8bit", "binary", " Binary "] {
            XCTAssertEqual(try entity(cte, body).decodedBody(), bytes(body), "\(cte ?? "absent")")
        }
        XCTAssertMIMEError("mime-encoding") { try self.entity("x-uuencode", "x").decodedBody() }
        XCTAssertMIMEError("mime-encoding") { try self.entity("gzip", "x").decodedBody() }
    }
}
