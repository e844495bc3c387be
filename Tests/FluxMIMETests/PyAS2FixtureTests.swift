import Foundation
import XCTest
@testable import FluxMIME

/// Real messages built by pyas2lib 1.4.4 (capture/make_fixtures.py). `NAME.signed` holds the
/// exact bytes pyas2lib passed to its signer, and manifest.json the MIC it computed.
final class PyAS2FixtureTests: XCTestCase {
    func checkSignedPart(_ part: MIMEEntity, name: String, entry: [String: String], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(part.raw, try fixture("\(name).signed"), "signed region of \(name)", file: file, line: line)
        let alg = try XCTUnwrap(entry["digest"])
        let digest = try XCTUnwrap(TestDigest.digest(alg, part.raw), file: file, line: line)
        XCTAssertEqual(digest.base64EncodedString(), entry["mic"], "MIC of \(name)", file: file, line: line)
    }

    func testDigestHelpersMatchKnownVectors() {
        XCTAssertEqual(TestDigest.sha256(bytes("abc")).base64EncodedString(), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        XCTAssertEqual(TestDigest.sha1(bytes("abc")).base64EncodedString(), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
    }

    func testSignedMessagesFirstPartHashesToPyAS2MIC() throws {
        let m = try manifest()
        for name in ["signed-sha256", "signed-sha1-lf-payload", "signed-binary"] {
            let entry = try XCTUnwrap(m[name])
            let (http, outer) = try outerEntity(fromCapture: fixture("\(name).as2"))
            XCTAssertEqual(http.headers["AS2-To"], "GATEWAY")
            XCTAssertEqual(outer.contentType?.mediaType, "multipart/signed")
            XCTAssertEqual(outer.contentType?[parameter: "micalg"], entry["digest"])
            let parts = try outer.parts()
            XCTAssertEqual(parts.count, 2, name)
            try checkSignedPart(parts[0], name: name, entry: entry)
            // The signature part: base64 of a DER SEQUENCE.
            XCTAssertEqual(parts[1].transferEncoding, "base64")
            let der = try parts[1].decodedBody()
            XCTAssertEqual(der.first, 0x30)
            XCTAssertGreaterThan(der.count, 500)
            XCTAssertEqual(parts[1].fileName, "smime.p7s")
        }
    }

    func testSignedPayloadsDecode() throws {
        let (_, outer) = try outerEntity(fromCapture: fixture("signed-binary.as2"))
        let part = try outer.parts()[0]
        XCTAssertEqual(part.transferEncoding, "binary")
        var expected = Data(0...255)
        expected.append(bytes("\r\n--\n\r\r\n"))
        expected.append(Data((0...255).reversed()))
        XCTAssertEqual(try part.decodedBody(), expected, "binary body untouched, including bare CR/LF and '--'")
        XCTAssertEqual(part.fileName, "blob.bin")

        // pyas2lib's email generator turned the LF payload into CRLF before signing.
        let (_, lfOuter) = try outerEntity(fromCapture: fixture("signed-sha1-lf-payload.as2"))
        let lfPart = try lfOuter.parts()[0]
        XCTAssertEqual(lfPart.transferEncoding, "7bit")
        XCTAssertFalse(MIMECanonical.hasBareLF(lfPart.raw))
    }

    func testEncryptedMessagesAndDecryptedEntities() throws {
        let m = try manifest()
        // Encrypted only: the HTTP body is the binary CMS, the decrypted entity is the payload.
        let (_, enc) = try outerEntity(fromCapture: fixture("encrypted.as2"))
        XCTAssertEqual(enc.contentType?.mediaType, "application/pkcs7-mime")
        XCTAssertEqual(enc.contentType?[parameter: "smime-type"], "enveloped-data")
        XCTAssertEqual(enc.body.first, 0x30)
        XCTAssertEqual(enc.fileName, "smime.p7m")
        let inner = try MIMEEntity.parse(fixture("encrypted.inner"))
        XCTAssertEqual(inner.contentType?.mediaType, "application/xml")
        XCTAssertEqual(try inner.decodedBody(), bytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Invoice>\r\n  <ID>INV-1</ID>\r\n  <Note>--not a boundary</Note>\r\n</Invoice>\r\n"))

        // Signed then encrypted: the decrypted entity is the multipart/signed with its header.
        let se = try MIMEEntity.parse(fixture("signed-encrypted.inner"))
        XCTAssertEqual(se.contentType?.mediaType, "multipart/signed")
        try checkSignedPart(se.parts()[0], name: "signed-encrypted", entry: XCTUnwrap(m["signed-encrypted"]))
    }

    func testCompressedBeforeSigning() throws {
        let m = try manifest()
        let inner = try MIMEEntity.parse(fixture("compressed-signed-encrypted.inner"))
        let parts = try inner.parts()
        // pyas2lib compresses before signing: the signed entity is the compressed-data part,
        // CTE binary, and (unlike the other parts) it keeps a MIME-Version header.
        let signed = parts[0]
        XCTAssertEqual(signed.contentType?.mediaType, "application/pkcs7-mime")
        XCTAssertEqual(signed.contentType?[parameter: "smime-type"], "compressed-data")
        XCTAssertEqual(signed.transferEncoding, "binary")
        XCTAssertEqual(signed.headers["MIME-Version"], "1.0")
        XCTAssertEqual(signed.body.first, 0x30)
        try checkSignedPart(signed, name: "compressed-signed-encrypted", entry: XCTUnwrap(m["compressed-signed-encrypted"]))

        let (_, compressed) = try outerEntity(fromCapture: fixture("compressed.as2"))
        XCTAssertEqual(compressed.contentType?[parameter: "smime-type"], "compressed-data")
        XCTAssertEqual(compressed.transferEncoding, "binary")
        XCTAssertEqual(try compressed.decodedBody().first, 0x30)
        let uncompressed = try MIMEEntity.parse(fixture("compressed.uncompressed"))
        XCTAssertEqual(uncompressed.fileName, "invoice.xml")
    }

    func testPlainUnsignedAndOptionsHeader() throws {
        let (http, outer) = try outerEntity(fromCapture: fixture("plain-unsigned.as2"))
        XCTAssertEqual(outer.contentType?.mediaType, "application/xml")
        XCTAssertEqual(outer.transferEncoding, "7bit")
        XCTAssertTrue(try outer.decodedBody().starts(with: bytes("<?xml")))
        XCTAssertEqual(http.headers["disposition-notification-to"], "no-reply@pyas2.com")

        let (seHTTP, _) = try outerEntity(fromCapture: fixture("signed-encrypted.as2"))
        let options = DispositionNotificationOptions(try XCTUnwrap(seHTTP.headers["Disposition-Notification-Options"]))
        XCTAssertTrue(options.wantsSignedReceipt)
        XCTAssertEqual(options.signedReceiptProtocol, .init(importance: "required", values: ["pkcs7-signature"]))
        XCTAssertEqual(options.firstSupportedMICAlgorithm(["sha-256"]), "sha256")
    }

    func testSignedMDNFromPyAS2() throws {
        let m = try XCTUnwrap(try manifest()["mdn-signed"])
        let (http, outer) = try outerEntity(fromCapture: fixture("mdn-signed.as2"))
        XCTAssertEqual(http.headers["AS2-From"], "GATEWAY")
        let mdn = try MDNParser.parse(contentType: XCTUnwrap(outer.headers["Content-Type"]), body: outer.body)
        XCTAssertEqual(mdn.signedEntity, try fixture("mdn-signed.signed"), "exactly what pyas2lib signed")
        XCTAssertEqual(mdn.micalg, "sha256")
        XCTAssertEqual(mdn.signatureDER?.first, 0x30)
        XCTAssertEqual(mdn.fields.reportingUA, "pyAS2 Open Source AS2 Software")
        XCTAssertEqual(mdn.fields.originalRecipient, "rfc822; GATEWAY")
        XCTAssertEqual(mdn.fields.finalRecipient, "rfc822; GATEWAY")
        XCTAssertEqual(mdn.fields.originalMessageID, m["originalMessageID"])
        XCTAssertEqual(mdn.fields.dispositionMode, "automatic-action/MDN-sent-automatically")
        XCTAssertEqual(mdn.fields.disposition, "processed")
        XCTAssertTrue(mdn.fields.isProcessedWithoutError)
        XCTAssertEqual(mdn.fields.mic, MDNMIC(base64: try XCTUnwrap(m["mic"]), algorithm: "sha256"))
        XCTAssertTrue(mdn.fields.humanText.hasPrefix("The AS2 message has been successfully processed."))
    }

    func testUnsignedMDNFromPyAS2HasNoMIC() throws {
        let m = try XCTUnwrap(try manifest()["mdn-unsigned"])
        let (_, outer) = try outerEntity(fromCapture: fixture("mdn-unsigned.as2"))
        let mdn = try MDNParser.parse(contentType: XCTUnwrap(outer.headers["Content-Type"]), body: outer.body)
        XCTAssertNil(mdn.signedEntity)
        XCTAssertNil(mdn.signatureDER)
        XCTAssertEqual(mdn.fields.originalMessageID, m["originalMessageID"])
        XCTAssertEqual(mdn.fields.disposition, "processed")
        XCTAssertNil(mdn.fields.mic, "pyas2lib leaves Received-Content-MIC out for unsigned messages (AS2.md §0.2)")
    }

    func testEmailModuleVariants() throws {
        // SMTP policy: CRLF, folded header (tab continuation), preamble/epilogue, folded outer
        // Content-Type, no CTE on part 1.
        let folded = try MIMEEntity.parse(fixture("variant-folded-crlf.eml"))
        XCTAssertEqual(folded.contentType?[parameter: "boundary"], "----=_Part_0_1.2")
        XCTAssertEqual(folded.contentType?[parameter: "micalg"], "sha-256")
        let fParts = try folded.parts()
        XCTAssertEqual(fParts.count, 2)
        XCTAssertEqual(fParts[0].raw, try fixture("variant-folded-crlf.part1"))
        XCTAssertNil(fParts[0].transferEncoding)
        XCTAssertEqual(fParts[0].headers["x-long-note"], "a header long enough that the SMTP policy must fold it at a space before column seventy-eight")
        XCTAssertEqual(fParts[0].fileName, "a-rather-long-file-name-so-that-the-header-gets-folded-by-the-generator.xml")
        XCTAssertEqual(try fParts[1].decodedBody(), Data([0x30, 0x82, 0x01, 0x00]) + bytes("fake-der"))

        // LF-only line ends throughout, boundary with a space (quoted), space-folded header.
        let lf = try MIMEEntity.parse(fixture("variant-lf.eml"))
        XCTAssertEqual(lf.contentType?[parameter: "boundary"], "simple boundary")
        let lParts = try lf.parts()
        XCTAssertEqual(lParts.count, 2)
        XCTAssertEqual(lParts[0].raw, try fixture("variant-lf.part1"))
        XCTAssertEqual(lParts[0].headers["X-Long-Note"], fParts[0].headers["X-Long-Note"])
        XCTAssertEqual(lParts[0].body, try fParts[0].decodedBody().split(separator: 0x0D).reduce(Data(), +))
        XCTAssertEqual(MIMECanonical.crlf(lParts[0].body), fParts[0].body)
        XCTAssertEqual(try lParts[1].decodedBody(), try fParts[1].decodedBody())

        // Transport padding after every delimiter: same parts.
        let padded = try MIMEEntity.parse(fixture("variant-padding.eml")).parts()
        XCTAssertEqual(padded.map(\.raw), fParts.map(\.raw))
    }
}
