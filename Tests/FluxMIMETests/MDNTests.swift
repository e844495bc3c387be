import Foundation
import XCTest
@testable import FluxMIME

final class MDNTests: XCTestCase {
    let fields = MDNFields(
        reportingUA: "flux-gateway 1.0",
        originalRecipient: "rfc822; GATEWAY",
        finalRecipient: "rfc822; GATEWAY",
        originalMessageID: "<abc-123@partner.example>",
        disposition: "processed",
        mic: MDNMIC(base64: "7v7F++fQaNjRcRvzO6OQlDEyZmhTvGtz0oaTX9fS5vY=", algorithm: "sha-256"),
        humanText: "The AS2 message has been received.\nThank you.")

    func assertCRLFOnly(_ data: Data, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(MIMECanonical.hasBareLF(data), "bare LF", file: file, line: line)
        let bytes = [UInt8](data)
        for (i, b) in bytes.enumerated() where b == 0x0D {
            XCTAssertTrue(i + 1 < bytes.count && bytes[i + 1] == 0x0A, "bare CR at \(i)", file: file, line: line)
        }
    }

    func testReportBytes() throws {
        let report = MDNBuilder.report(fields, boundary: "----=_FLUX_r")
        assertCRLFOnly(report.raw)
        let text = String(decoding: report.raw, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("Content-Type: multipart/report; report-type=disposition-notification; boundary=\"----=_FLUX_r\"\r\n\r\n--"))
        for line in [
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nThe AS2 message has been received.\r\nThank you.\r\n\r\n------=_FLUX_r\r\n",
            "Content-Type: message/disposition-notification\r\n",
            "\r\nReporting-UA: flux-gateway 1.0\r\n",
            "\r\nOriginal-Recipient: rfc822; GATEWAY\r\n",
            "\r\nFinal-Recipient: rfc822; GATEWAY\r\n",
            "\r\nOriginal-Message-ID: <abc-123@partner.example>\r\n",
            "\r\nDisposition: automatic-action/MDN-sent-automatically; processed\r\n",
            "\r\nReceived-Content-MIC: 7v7F++fQaNjRcRvzO6OQlDEyZmhTvGtz0oaTX9fS5vY=, sha-256\r\n",
        ] {
            XCTAssertTrue(text.contains(line), line)
        }
        XCTAssertTrue(text.hasSuffix("\r\n------=_FLUX_r--\r\n"))
        // The entity is self-consistent: raw = headerBytes + CRLF + body, and it re-parses.
        XCTAssertEqual(report.raw, report.headerBytes + bytes("\r\n") + report.body)
        let reparsed = try MIMEEntity.parse(report.raw)
        XCTAssertEqual(reparsed.headerBytes, report.headerBytes)
        XCTAssertEqual(reparsed.body, report.body)
        XCTAssertEqual(try reparsed.parts().count, 2)
    }

    func testUnsignedRoundTrip() throws {
        let report = MDNBuilder.report(fields, boundary: MDNBuilder.makeBoundary())
        let (contentType, body) = MDNBuilder.unsigned(report: report)
        XCTAssertTrue(contentType.hasPrefix("multipart/report; report-type=disposition-notification; boundary="))
        let parsed = try MDNParser.parse(contentType: contentType, body: body)
        XCTAssertNil(parsed.signedEntity)
        var expected = fields
        expected.humanText = "The AS2 message has been received.\r\nThank you."
        XCTAssertEqual(parsed.fields, expected)
    }

    func testSignedRoundTripKeepsReportBytes() throws {
        var failed = fields
        failed.disposition = "processed/error: decryption-failed"
        failed.mic = nil
        failed.originalRecipient = nil
        failed.extraFields = [MIMEHeader(name: "Error", value: "could not decrypt")]
        let report = MDNBuilder.report(failed, boundary: MDNBuilder.makeBoundary())
        let der = Data((0..<700).map { UInt8(truncatingIfNeeded: $0) })
        let outerBoundary = MDNBuilder.makeBoundary()
        let (contentType, body) = MDNBuilder.signed(report: report, signatureDER: der, micalg: "sha-256", boundary: outerBoundary)
        XCTAssertEqual(contentType, "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"\(outerBoundary)\"")
        assertCRLFOnly(body)

        let outer = MIMEEntity.fromHTTP(headers: [("Content-Type", contentType)], body: body)
        let parts = try outer.parts()
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].raw, report.raw, "the signed part is exactly the report bytes")
        XCTAssertEqual(parts[1].headers["Content-Type"], "application/pkcs7-signature; name=smime.p7s")
        XCTAssertEqual(parts[1].headers["Content-Disposition"], "attachment; filename=smime.p7s")
        XCTAssertEqual(parts[1].transferEncoding, "base64")
        XCTAssertTrue(String(decoding: parts[1].body, as: UTF8.self).split(separator: "\r\n").allSatisfy { $0.count <= 76 })
        XCTAssertEqual(try parts[1].decodedBody(), der)

        let parsed = try MDNParser.parse(contentType: contentType, body: body)
        XCTAssertEqual(parsed.signedEntity, report.raw)
        XCTAssertEqual(parsed.signatureDER, der)
        XCTAssertEqual(parsed.micalg, "sha-256")
        XCTAssertEqual(parsed.fields.disposition, "processed/error: decryption-failed")
        XCTAssertEqual(parsed.fields.dispositionType, "processed")
        XCTAssertEqual(parsed.fields.dispositionModifier, "error: decryption-failed")
        XCTAssertFalse(parsed.fields.isProcessedWithoutError)
        XCTAssertNil(parsed.fields.originalRecipient)
        XCTAssertNil(parsed.fields.mic)
        XCTAssertEqual(parsed.fields.extraFields, [MIMEHeader(name: "Error", value: "could not decrypt")])
    }

    func testHostileValuesCannotInjectFields() throws {
        var f = fields
        f.originalMessageID = "<x@y>\r\nDisposition: automatic-action/MDN-sent-automatically; processed\r\n"
        f.humanText = "caf\u{e9}\rline\u{1}"
        f.reportingUA = "ua\ninjected: 1"
        let report = MDNBuilder.report(f, boundary: "b\r\nX-Evil: 1")
        assertCRLFOnly(report.raw)
        let text = String(decoding: report.raw, as: UTF8.self)
        XCTAssertFalse(text.contains("\r\nX-Evil"), "no injected header line")
        XCTAssertTrue(text.allSatisfy(\.isASCII))
        let parsed = try MDNParser.parseReport(MIMEEntity.parse(report.raw))
        XCTAssertEqual(parsed.originalMessageID, "<x@y>  Disposition: automatic-action/MDN-sent-automatically; processed")
        XCTAssertEqual(parsed.reportingUA, "ua injected: 1")
        XCTAssertEqual(parsed.humanText, "caf?\r\nline ")
        XCTAssertEqual(parsed.extraFields, [])
    }

    func testMakeBoundary() {
        let a = MDNBuilder.makeBoundary(), b = MDNBuilder.makeBoundary()
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(a.hasPrefix("----=_FLUX_"))
        XCTAssertEqual(a.count, 11 + 32)
        XCTAssertEqual(MDNBuilder.legalBoundary(a), a, "legal per RFC 2046")
        XCTAssertTrue(a.dropFirst(11).allSatisfy(\.isHexDigit))
    }

    func testParserLeniencyAndErrors() throws {
        // A bare message/disposition-notification body (django-pyas2#48), LF line ends,
        // lower-case names, Received-content-MIC spelled as in RFC 4130, blank line inside.
        let bare = "reporting-ua: peer\nfinal-recipient: rfc822; GW\n\noriginal-message-id: <m>\nDISPOSITION: automatic-action/MDN-sent-automatically; failed/failure: unsupported MIC-algorithms\nReceived-content-MIC: abc=, sha1\n"
        let p = try MDNParser.parse(contentType: "message/disposition-notification", body: bytes(bare))
        XCTAssertEqual(p.fields.reportingUA, "peer")
        XCTAssertEqual(p.fields.originalMessageID, "<m>")
        XCTAssertEqual(p.fields.dispositionType, "failed")
        XCTAssertEqual(p.fields.disposition, "failed/failure: unsupported MIC-algorithms")
        XCTAssertEqual(p.fields.mic, MDNMIC(base64: "abc=", algorithm: "sha1"))

        // Original-Recipient stands in for a missing Final-Recipient.
        let onlyOriginal = try MDNParser.parse(contentType: "message/disposition-notification", body: bytes("Original-Recipient: rfc822; A\r\nDisposition: automatic-action/MDN-sent-automatically; processed\r\n"))
        XCTAssertEqual(onlyOriginal.fields.finalRecipient, "rfc822; A")

        XCTAssertMIMEError("mdn-format") {
            try MDNParser.parse(contentType: "message/disposition-notification", body: self.bytesNoDisposition)
        }
        XCTAssertMIMEError("mdn-format") {
            try MDNParser.parse(contentType: "message/disposition-notification", body: bytes("Disposition: a; processed\r\n"))
        }
        XCTAssertMIMEError("mdn-format") {
            try MDNParser.parse(contentType: "multipart/report; boundary=r", body: bytes("--r\r\n\r\ntext\r\n--r--\r\n"))
        }
        XCTAssertMIMEError("mime-content-type") { try MDNParser.parse(contentType: "text/plain", body: bytes("hi")) }
        XCTAssertMIMEError("mime-content-type") { try MDNParser.parse(contentType: "garbage", body: bytes("hi")) }
        XCTAssertMIMEError("mime-boundary") {
            try MDNParser.parse(contentType: "multipart/signed; boundary=s", body: bytes("--s\r\n\r\nx\r\n"))
        }
        XCTAssertMIMEError("mime-content-type") {
            try MDNParser.parse(contentType: "multipart/signed; boundary=s", body: bytes("--s\r\n\r\nx\r\n--s--\r\n"))
        }
    }

    var bytesNoDisposition: Data { bytes("Final-Recipient: rfc822; A\r\nOriginal-Message-ID: <m>\r\n") }

    func testDispositionHelpers() {
        var f = fields
        f.disposition = "processed/warning: duplicate-document"
        XCTAssertTrue(f.isProcessedWithoutError)
        XCTAssertEqual(f.dispositionModifier, "warning: duplicate-document")
        f.disposition = "processed/Error: decompresion-failed"
        XCTAssertFalse(f.isProcessedWithoutError)
        f.disposition = "Processed"
        XCTAssertEqual(f.dispositionType, "processed")
        XCTAssertNil(f.dispositionModifier)
        XCTAssertTrue(f.isProcessedWithoutError)
    }
}
