import FluxTestSupport
import Foundation
import XCTest
@testable import FluxMIME

final class MIMECanonicalTests: XCTestCase {
    func testBareLFBecomesCRLF() {
        XCTAssertEqual(MIMECanonical.crlf(bytes("a\nb\r\nc\n")), bytes("a\r\nb\r\nc\r\n"))
        XCTAssertEqual(MIMECanonical.crlf(bytes("\n\n")), bytes("\r\n\r\n"))
        XCTAssertEqual(MIMECanonical.crlf(bytes("\r\n\n\r")), bytes("\r\n\r\n\r"))
    }

    func testUntouchedInputs() {
        for s in ["", "no line ends", "a\r\nb\r\n", "bare\rCR\r", "\r\r\n"] {
            XCTAssertEqual(MIMECanonical.crlf(bytes(s)), bytes(s), s.debugDescription)
            XCTAssertFalse(MIMECanonical.hasBareLF(bytes(s)))
        }
        XCTAssertTrue(MIMECanonical.hasBareLF(bytes("a\r\nb\n")))
    }

    func testLargeMixedInputMatchesNaiveConversion() {
        var rng = SplitMix64(seed: 42)
        let alphabet: [UInt8] = [0x0A, 0x0D, 0x41, 0x42, 0x20]
        let input = Data((0..<50_000).map { _ in alphabet[Int(rng.next() % 5)] })
        var naive = Data()
        var prev: UInt8 = 0
        for b in input {
            if b == 0x0A, prev != 0x0D { naive.append(0x0D) }
            naive.append(b)
            prev = b
        }
        XCTAssertEqual(MIMECanonical.crlf(input), naive)
        XCTAssertEqual(MIMECanonical.crlf(input[10...]).count, MIMECanonical.crlf(Data(input[10...])).count, "slices work")
    }
}

extension MIMECanonicalTests {
    func testMICBytesCanonicaliseTextButNotBinary() throws {
        let text = try MIMEEntity.parse(bytes("Content-Type: application/xml\nContent-Transfer-Encoding: 7bit\n\n<a>\n</a>\n"))
        XCTAssertFalse(text.isBinaryTransfer)
        XCTAssertEqual(text.micBytes, bytes("Content-Type: application/xml\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<a>\r\n</a>\r\n"))
        let binary = try MIMEEntity.parse(bytes("Content-Type: application/xml\r\nContent-Transfer-Encoding: binary\r\n\r\n<a>\n</a>\n"))
        XCTAssertTrue(binary.isBinaryTransfer)
        XCTAssertEqual(binary.micBytes, binary.raw)
        let noCTE = try MIMEEntity.parse(bytes("Content-Type: application/xml\r\n\r\n<a>\n</a>\n"))
        XCTAssertTrue(noCTE.isBinaryTransfer, "absent CTE is binary in AS2")
        XCTAssertEqual(noCTE.micBytes, noCTE.raw)
    }
}
