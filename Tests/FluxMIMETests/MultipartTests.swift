import Foundation
import XCTest
@testable import FluxMIME

final class MultipartTests: XCTestCase {
    /// The signed region written by hand: the part between the delimiter line's CRLF and the CRLF
    /// before the next delimiter, which belongs to the delimiter (RFC 2046 §5.1.1).
    static let signedPart = "Content-Type: application/xml\r\nContent-Transfer-Encoding: binary\r\n\r\n<Invoice>\r\n  <ID>1</ID>\r\n</Invoice>\r\n"

    func handSigned(boundary: String = "----=_Part_1_2.3") -> Data {
        bytes(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"\(boundary)\"\r\n\r\n" +
            "This is an S/MIME signed message\r\n" +
            "--\(boundary)\r\n" + Self.signedPart + "\r\n" +
            "--\(boundary)\r\n" +
            "Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            "MIIB\r\nAAEC\r\n" +
            "\r\n--\(boundary)--\r\n" +
            "epilogue\r\n")
    }

    func testSignedPartIsByteExact() throws {
        let e = try MIMEEntity.parse(handSigned())
        let parts = try e.parts()
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].raw, bytes(Self.signedPart))
        XCTAssertEqual(parts[0].raw.startIndex, 0)
        XCTAssertEqual(parts[0].body, bytes("<Invoice>\r\n  <ID>1</ID>\r\n</Invoice>\r\n"))
        XCTAssertEqual(parts[0].transferEncoding, "binary")
        XCTAssertEqual(parts[1].contentType?.mediaType, "application/pkcs7-signature")
        XCTAssertEqual(try parts[1].decodedBody(), Data([0x30, 0x82, 0x01, 0x00, 0x01, 0x02]))
        XCTAssertEqual(parts[1].fileName, "smime.p7s")
    }

    func testUnquotedBoundaryWithEqualsAndBoundaryAtBodyStart() throws {
        let data = bytes("Content-Type: multipart/mixed; boundary=----=_x=1\r\n\r\n------=_x=1\r\n\r\nA\r\n------=_x=1\r\n\r\nB\r\n------=_x=1--")
        let parts = try MIMEEntity.parse(data).parts()
        XCTAssertEqual(parts.map(\.body), [bytes("A"), bytes("B")])
        XCTAssertTrue(parts[0].headers.fields.isEmpty)
    }

    func testLFOnlyDelimitersAndPartEndingInBareLF() throws {
        let data = bytes("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhello\n--b\n\nworld\n\n--b--\n")
        let parts = try MIMEEntity.parse(data).parts()
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].raw, bytes("Content-Type: text/plain\n\nhello"))
        XCTAssertEqual(parts[1].body, bytes("world\n"))
    }

    func testTransportPaddingAndBoundaryPrefixTrap() throws {
        let data = bytes(
            "Content-Type: multipart/mixed; boundary=\"abc\"\r\n\r\n" +
            "--abc \t\r\n\r\nline\r\n--abcd is not a delimiter\r\n--abc-- neither is this? it is a close delimiter only at line start\r\n" +
            "--abc\t\r\n\r\nsecond\r\n--abc--  \r\n")
        let parts = try MIMEEntity.parse(data).parts()
        // "--abc--" at a line start closes; the text after it on that line does not matter.
        XCTAssertEqual(parts.count, 1)
        XCTAssertEqual(parts[0].body, bytes("line\r\n--abcd is not a delimiter"))
    }

    func testDelimiterMustStartALine() throws {
        let data = bytes("Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nx --q\r\n--q--\r\n")
        let parts = try MIMEEntity.parse(data).parts()
        XCTAssertEqual(parts.map(\.body), [bytes("x --q")])
    }

    func testEmptyPartsAndEmptyMultipart() throws {
        let data = bytes("Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\n--e\r\n\r\n\r\n--e--\r\n")
        let parts = try MIMEEntity.parse(data).parts()
        XCTAssertEqual(parts.count, 2)
        XCTAssertTrue(parts[0].raw.isEmpty)
        XCTAssertEqual(parts[1].raw, bytes("\r\n"))
        XCTAssertTrue(parts[1].body.isEmpty)
        let none = bytes("Content-Type: multipart/mixed; boundary=e\r\n\r\n--e--\r\n")
        XCTAssertEqual(try MIMEEntity.parse(none).parts().count, 0)
    }

    func testNestedMultipart() throws {
        let inner = "Content-Type: multipart/report; report-type=disposition-notification; boundary=in\r\n\r\n--in\r\n\r\nA\r\n--in\r\n\r\nB\r\n--in--\r\n"
        let data = bytes("Content-Type: multipart/signed; boundary=out\r\n\r\n--out\r\n" + inner + "\r\n--out\r\n\r\nsig\r\n--out--\r\n")
        let outer = try MIMEEntity.parse(data).parts()
        XCTAssertEqual(outer[0].raw, bytes(inner))
        XCTAssertEqual(try outer[0].parts().map(\.body), [bytes("A"), bytes("B")])
    }

    func testBoundaryErrors() {
        XCTAssertMIMEError("mime-boundary") {
            try MIMEEntity.parse(bytes("Content-Type: multipart/signed; protocol=x\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n")).parts()
        }
        XCTAssertMIMEError("mime-boundary") {   // truncated upload: no close delimiter
            try MIMEEntity.parse(bytes("Content-Type: multipart/signed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n")).parts()
        }
        XCTAssertMIMEError("mime-boundary") {
            try MIMEEntity.parse(bytes("Content-Type: multipart/signed; boundary=b\r\n\r\nno delimiter at all\r\n")).parts()
        }
        XCTAssertMIMEError("mime-boundary") {
            try MIMEEntity.parse(bytes("Content-Type: multipart/signed; boundary=\"\"\r\n\r\n--\r\n")).parts()
        }
        XCTAssertMIMEError("mime-boundary") {
            try MIMEEntity.parse(bytes("Content-Type: multipart/mixed; boundary=\(String(repeating: "x", count: 201))\r\n\r\n")).parts()
        }
        XCTAssertMIMEError("mime-content-type") {
            try MIMEEntity.parse(bytes("Content-Type: application/xml\r\n\r\n<a/>")).parts()
        }
        XCTAssertMIMEError("mime-content-type") { try MIMEEntity.parse(bytes("\r\n<a/>")).parts() }
    }

    func testPartLimit() throws {
        var s = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
        for i in 0..<5 { s += "--p\r\n\r\n\(i)\r\n" }
        s += "--p--\r\n"
        XCTAssertEqual(try MIMEEntity.parse(bytes(s)).parts(limits: MIMELimits(maxParts: 5)).count, 5)
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes(s)).parts(limits: MIMELimits(maxParts: 4)) }
        var many = "Content-Type: multipart/mixed; boundary=p\r\n\r\n"
        for _ in 0..<10_000 { many += "--p\r\n" }
        XCTAssertMIMEError("mime-limit") { try MIMEEntity.parse(bytes(many)).parts() }
    }

    func testPartHeaderErrorsPropagate() {
        XCTAssertMIMEError("mime-header") {
            try MIMEEntity.parse(bytes("Content-Type: multipart/mixed; boundary=h\r\n\r\n--h\r\nno colon here\r\n\r\nx\r\n--h--\r\n")).parts()
        }
    }
}
