import FluxAS2
import FluxCrypto
import XCTest

final class AS2RequestTests: XCTestCase {
    func head(_ headers: [(String, String)]) throws -> HTTPRequestHead {
        var text = "POST /as2 HTTP/1.1\r\n"
        for (n, v) in headers { text += "\(n): \(v)\r\n" }
        text += "Content-Length: 0\r\n\r\n"
        var p = HTTPRequestParser()
        guard case .head(let h) = try p.feed(Array(text.utf8)).first else { throw HTTPParseError(400, "the parser gave no head") }
        return h.head
    }

    func testHeadersAreReadAndIDsUnquoted() throws {
        let r = try AS2Request(head: head([
            ("AS2-From", "\"ACME \\\"Int\\\"\""), ("AS2-To", "GATEWAY"), ("Message-ID", "<abc@acme>"),
            ("Content-Type", "application/pkcs7-mime; smime-type=enveloped-data"), ("Content-Transfer-Encoding", "binary"),
            ("Disposition-Notification-To", "ops@acme"),
            ("Disposition-Notification-Options", "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha256"),
            ("Receipt-Delivery-Option", " https://acme.example/mdn "),
        ]))
        XCTAssertEqual(r.as2From, "ACME \"Int\"")
        XCTAssertEqual(r.as2To, "GATEWAY")
        XCTAssertEqual(r.messageID, "<abc@acme>")
        XCTAssertTrue(r.wantsMDN)
        XCTAssertTrue(r.wantsAsyncMDN)
        XCTAssertEqual(r.receiptDeliveryOption, "https://acme.example/mdn")
        XCTAssertEqual(r.mimeHeaders.map(\.name), ["Content-Type", "Content-Transfer-Encoding"])
    }

    func testMissingAS2HeadersAre400() throws {
        for missing in ["AS2-From", "AS2-To", "Message-ID", "Content-Type"] {
            var hs = [("AS2-From", "A"), ("AS2-To", "B"), ("Message-ID", "<m@a>"), ("Content-Type", "application/xml")]
            hs.removeAll { $0.0 == missing }
            XCTAssertThrowsError(try AS2Request(head: try head(hs)), missing) { e in
                XCTAssertEqual((e as? HTTPParseError)?.status, 400)
                XCTAssertTrue((e as? HTTPParseError)?.reason.contains(missing) == true, "\(e)")
            }
        }
    }

    func plan(_ options: String?, signedWith: DigestAlgorithm? = nil) throws -> AS2MDNPlan {
        var hs = [("AS2-From", "A"), ("AS2-To", "B"), ("Message-ID", "<m@a>"), ("Content-Type", "application/xml"),
                  ("Disposition-Notification-To", "x")]
        if let o = options { hs.append(("Disposition-Notification-Options", o)) }
        return AS2MDNFactory.plan(for: try AS2Request(head: try head(hs)), signature: nil)
    }

    func testMICAlgorithmIsEchoedAsSpelled() throws {
        var p = try plan("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha256, sha1")
        XCTAssertTrue(p.sign); XCTAssertEqual(p.micAlgorithm, .sha256); XCTAssertEqual(p.micSpelling, "sha256"); XCTAssertNil(p.failure)
        p = try plan("signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha-512")
        XCTAssertEqual(p.micAlgorithm, .sha512); XCTAssertEqual(p.micSpelling, "sha-512")
        // OpenAS2#60: a peer put the protocol where the algorithm belongs; the next value is used.
        p = try plan("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, pkcs7-signature, sha-256")
        XCTAssertEqual(p.micAlgorithm, .sha256); XCTAssertEqual(p.micSpelling, "sha-256")
    }

    func testRequiredButUnsupportedOptionsFail() throws {
        XCTAssertEqual(try plan("signed-receipt-protocol=required, pgp-signature; signed-receipt-micalg=optional, sha256").failure,
                       .failure("unsupported format"))
        XCTAssertEqual(try plan("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=required, md2").failure,
                       .failure("unsupported MIC-algorithms"))
        let optional = try plan("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, md2")
        XCTAssertNil(optional.failure)
        XCTAssertEqual(optional.micAlgorithm, .sha256)
    }

    func testNoOptionsMeansUnsignedReceipt() throws {
        let p = try plan(nil)
        XCTAssertFalse(p.sign)
        XCTAssertNil(p.failure)
    }

    func testDispositionTexts() {
        XCTAssertEqual(AS2Disposition.processed.description, "processed")
        XCTAssertEqual(AS2Disposition.warning("duplicate-document").description, "processed/warning: duplicate-document")
        XCTAssertEqual(AS2Disposition.error(.decryptionFailed).description, "processed/error: decryption-failed")
        XCTAssertEqual(AS2Disposition.failure("unsupported MIC-algorithms").description, "failed/failure: unsupported MIC-algorithms")
        XCTAssertTrue(AS2Disposition.warning("x").isPositive)
        XCTAssertFalse(AS2Disposition.error(.integrityCheckFailed).isPositive)
    }
}
