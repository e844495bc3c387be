@testable import FluxAS2
import FluxCrypto
import FluxMIME
import XCTest

/// The unwrap pipeline on messages built here with our CMS layer (the interop tests send the
/// same shapes from pyas2lib and `openssl cms`).
final class AS2UnwrapperTests: XCTestCase {
    struct Party { let key: PrivateKey; let cert: Certificate }
    nonisolated(unsafe) static var gateway: Party!
    nonisolated(unsafe) static var partner: Party!
    nonisolated(unsafe) static var stranger: Party!

    override class func setUp() {
        func make(_ cn: String) -> Party {
            let k = try! PrivateKey.generateRSA(bits: 2048)
            return Party(key: k, cert: try! Certificate.selfSigned(key: k, commonName: cn, organization: cn, days: 30))
        }
        gateway = make("GATEWAY"); partner = make("ACME"); stranger = make("STRANGER")
    }

    let invoice = Data("<Invoice>\r\n  <ID>F-1</ID>\r\n</Invoice>\r\n".utf8)

    var identity: AS2LocalIdentity {
        AS2LocalIdentity(as2IDs: ["GATEWAY"], decryptionKeys: [DecryptionKey(key: Self.gateway.key, certificate: Self.gateway.cert)],
                         signer: CMSSigner(key: Self.gateway.key, certificate: Self.gateway.cert), reportingUA: "test")
    }

    func profile(requireSignature: Bool = false, requireEncryption: Bool = false, ciphers: Set<String> = AS2PartnerProfile.defaultCiphers) -> AS2PartnerProfile {
        AS2PartnerProfile(partnerID: "acme", as2ID: "ACME", certificates: [Self.partner.cert], requireSignature: requireSignature,
                          requireEncryption: requireEncryption, allowedCiphers: ciphers)
    }

    func request(contentType: String, cte: String? = "binary") throws -> AS2Request {
        var text = "POST /as2 HTTP/1.1\r\nAS2-From: ACME\r\nAS2-To: GATEWAY\r\nMessage-ID: <1@acme>\r\nContent-Type: \(contentType)\r\n"
        if let cte { text += "Content-Transfer-Encoding: \(cte)\r\n" }
        text += "Content-Length: 0\r\n\r\n"
        var p = HTTPRequestParser()
        guard case .head(let h) = try p.feed(Array(text.utf8)).first else { throw HTTPParseError(400, "the parser gave no head") }
        return try AS2Request(head: h.head)
    }

    /// A MIME entity: headers, blank line, body.
    func entity(_ contentType: String, _ body: Data, cte: String = "binary") -> Data {
        Data("Content-Type: \(contentType)\r\nContent-Transfer-Encoding: \(cte)\r\nContent-Disposition: attachment; filename=\"inv.xml\"\r\n\r\n".utf8) + body
    }

    /// multipart/signed around `inner` (an entity), signed by `by`.
    func signed(_ inner: Data, by: Party = partner, digest: DigestAlgorithm = .sha256) throws -> (contentType: String, body: Data) {
        let sig = try CMSSigner(key: by.key, certificate: by.cert).signDetached(inner, digest: digest)
        let b = "b-\(UUID().uuidString)"
        var body = Data("--\(b)\r\n".utf8) + inner + Data("\r\n--\(b)\r\n".utf8)
        body += Data("Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8)
        body += Data(sig.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]).utf8)
        body += Data("\r\n--\(b)--\r\n".utf8)
        return ("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\(digest.micalgName); boundary=\"\(b)\"", body)
    }

    func unwrap(_ ct: String, _ body: Data, _ p: AS2PartnerProfile? = nil) throws -> Result<AS2Unwrapped, AS2Failure> {
        AS2Unwrapper.unwrap(request: try request(contentType: ct), body: body, partner: p ?? profile(), identity: identity)
    }

    func testPlainMessageMICIsOverTheContentOnly() throws {
        let u = try unwrap("application/xml", invoice).get()
        XCTAssertEqual(u.payload, invoice)
        XCTAssertEqual(u.micContent, invoice)
        XCTAssertNil(u.signature); XCTAssertNil(u.encryption)
    }

    func testSignedThenEncryptedEveryCipher() throws {
        let inner = entity("application/xml", invoice)
        let s = try signed(inner)
        let signedEntity = Data("Content-Type: \(s.contentType)\r\n\r\n".utf8) + s.body
        for cipher in ["des-ede3-cbc", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-gcm", "aes-256-gcm"] {
            for oaep in [false, true] {
                let der = try CMSEncryptor.encrypt(signedEntity, for: Self.gateway.cert, cipher: cipher, oaep: oaep)
                let smime = cipher.hasSuffix("gcm") ? "authEnveloped-data" : "enveloped-data"
                let u = try unwrap("application/pkcs7-mime; smime-type=\(smime); name=smime.p7m", der,
                                   profile(requireSignature: true, requireEncryption: true)).get()
                XCTAssertEqual(u.payload, invoice, cipher)
                XCTAssertEqual(u.encryption?.cipher, cipher)
                XCTAssertEqual(u.encryption?.keyTransport, oaep ? "rsaes-oaep" : "rsaes-pkcs1-v1_5")
                XCTAssertEqual(u.signature?.digest, .sha256)
                // RFC 4130 §7.3.1: the MIC covers the signed entity, headers included, as sent.
                XCTAssertEqual(u.micContent, inner)
                XCTAssertEqual(u.payloadFileName, "inv.xml")
            }
        }
    }

    func testEncryptedUnsignedMICIsOverTheDecryptedEntity() throws {
        let inner = entity("application/xml", invoice)
        let der = try CMSEncryptor.encrypt(inner, for: Self.gateway.cert, cipher: "aes-256-cbc", oaep: false)
        let u = try unwrap("application/pkcs7-mime; smime-type=enveloped-data", der).get()
        XCTAssertEqual(u.micContent, inner)
        XCTAssertEqual(u.payload, invoice)
    }

    func testCompressionBeforeAndAfterSigning() throws {
        let inner = entity("application/xml", invoice)
        // compress, then sign: the signed entity is the compressed one, and so is the MIC
        let compressedEntity = entity("application/pkcs7-mime; smime-type=compressed-data", try CMSCompression.compress(inner))
        let s1 = try signed(compressedEntity)
        let u1 = try unwrap(s1.contentType, s1.body).get()
        XCTAssertEqual(u1.compression, .beforeSigning)
        XCTAssertEqual(u1.micContent, compressedEntity)
        XCTAssertEqual(u1.payload, invoice)
        // sign, then compress: the MIC is over the signed entity found after decompressing
        let s2 = try signed(inner)
        let signedEntity = Data("Content-Type: \(s2.contentType)\r\n\r\n".utf8) + s2.body
        let u2 = try unwrap("application/pkcs7-mime; smime-type=compressed-data", try CMSCompression.compress(signedEntity)).get()
        XCTAssertEqual(u2.compression, .afterSigning)
        XCTAssertEqual(u2.micContent, inner)
        XCTAssertEqual(u2.payload, invoice)
        // compressed only (RFC 5402): the uncompressed entity with its headers
        let u3 = try unwrap("application/pkcs7-mime; smime-type=compressed-data", try CMSCompression.compress(inner)).get()
        XCTAssertEqual(u3.compression, .unsigned)
        XCTAssertEqual(u3.micContent, inner)
    }

    func failure(_ r: Result<AS2Unwrapped, AS2Failure>, file: StaticString = #filePath, line: UInt = #line) -> AS2Failure? {
        if case .failure(let f) = r { return f }
        XCTFail("expected a failure", file: file, line: line)
        return nil
    }

    func testTamperedContentIsIntegrityCheckFailed() throws {
        let inner = entity("application/xml", invoice)
        let s = try signed(inner)
        var body = s.body
        let idx = body.range(of: Data("F-1".utf8))!.lowerBound
        body[idx] = UInt8(ascii: "G")
        XCTAssertEqual(failure(try unwrap(s.contentType, body))?.disposition, .error(.integrityCheckFailed))
    }

    func testStrangersSignatureIsAuthenticationFailed() throws {
        let s = try signed(entity("application/xml", invoice), by: Self.stranger)
        XCTAssertEqual(failure(try unwrap(s.contentType, s.body))?.disposition, .error(.authenticationFailed))
    }

    func testMessageForAnotherKeyIsDecryptionFailed() throws {
        let der = try CMSEncryptor.encrypt(entity("application/xml", invoice), for: Self.stranger.cert, cipher: "aes-128-cbc", oaep: false)
        let f = failure(try unwrap("application/pkcs7-mime; smime-type=enveloped-data", der))
        XCTAssertEqual(f?.disposition, .error(.decryptionFailed))
    }

    func testCorruptCompressionIsDecompressionFailed() throws {
        var der = try CMSCompression.compress(entity("application/xml", Data(repeating: 65, count: 5000)))
        der[der.count - 20] ^= 0xFF
        XCTAssertEqual(failure(try unwrap("application/pkcs7-mime; smime-type=compressed-data", der))?.disposition, .error(.decompressionFailed))
    }

    func testPolicyViolationsAreInsufficientMessageSecurity() throws {
        XCTAssertEqual(failure(try unwrap("application/xml", invoice, profile(requireEncryption: true)))?.disposition,
                       .error(.insufficientMessageSecurity))
        XCTAssertEqual(failure(try unwrap("application/xml", invoice, profile(requireSignature: true)))?.disposition,
                       .error(.insufficientMessageSecurity))
        let der = try CMSEncryptor.encrypt(entity("application/xml", invoice), for: Self.gateway.cert, cipher: "des-ede3-cbc", oaep: false)
        let f = failure(try unwrap("application/pkcs7-mime; smime-type=enveloped-data", der, profile(ciphers: ["aes-256-cbc"])))
        XCTAssertEqual(f?.disposition, .error(.insufficientMessageSecurity))
        XCTAssertTrue(f?.detail.contains("des-ede3-cbc") == true)
    }

    func testGarbageIsASpecificErrorNotACrash() throws {
        XCTAssertEqual(failure(try unwrap("application/pkcs7-mime; smime-type=enveloped-data", Data("not DER".utf8)))?.disposition,
                       .error(.decryptionFailed))
        XCTAssertEqual(failure(try unwrap("multipart/signed; boundary=x", Data("--x\r\nno end".utf8)))?.disposition,
                       .error(.integrityCheckFailed))
        XCTAssertEqual(failure(try unwrap("application/pkcs7-mime; smime-type=compressed-data", Data([0x30, 0x80, 1, 2])))?.disposition,
                       .error(.decompressionFailed))
    }

    func testLineEndingsConvertedInTransitStillVerify() throws {
        // A text part signed in canonical CRLF form but delivered with bare LFs (a sender's
        // stack converted it): verified on the canonical form.
        let inner = Data("Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nline one\r\nline two\r\n".utf8)
        let s = try signed(inner)
        let lf = Data(String(decoding: s.body, as: UTF8.self).replacingOccurrences(of: "line one\r\nline two", with: "line one\nline two").utf8)
        let u = try unwrap(s.contentType, lf).get()
        XCTAssertEqual(u.micContent, MIMECanonical.crlf(try MIMEEntity.fromHTTP(headers: [("Content-Type", s.contentType)], body: lf).parts()[0].raw))
        XCTAssertEqual(u.micContent, inner, "the canonical form is what was signed")
    }

    func testMDNIsSignedOverTheReportAndCarriesTheMIC() throws {
        let inner = entity("application/xml", invoice)
        let s = try signed(inner)
        var text = "POST /as2 HTTP/1.1\r\nAS2-From: ACME\r\nAS2-To: GATEWAY\r\nMessage-ID: <7@acme>\r\nContent-Type: \(s.contentType)\r\n"
        text += "Disposition-Notification-To: x\r\nDisposition-Notification-Options: signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha256\r\nContent-Length: 0\r\n\r\n"
        var p = HTTPRequestParser()
        guard case .head(let h) = try p.feed(Array(text.utf8)).first else { return XCTFail() }
        let req = try AS2Request(head: h.head)
        let u = try AS2Unwrapper.unwrap(request: req, body: s.body, partner: profile(), identity: identity).get()
        let plan = AS2MDNFactory.plan(for: req, signature: u.signature)
        // The signature's own digest of the content is the MIC: the same as hashing it again.
        XCTAssertEqual(u.signature?.contentDigest, DigestAlgorithm.sha256.hash(inner))
        let mdn = try AS2MDNFactory.build(request: req, disposition: .processed, micContent: u.micContent, signature: u.signature,
                                          plan: plan, identity: identity, detail: nil)
        let ct = try XCTUnwrap(mdn.headers.first { $0.name == "Content-Type" }?.value)
        let parsed = try MDNParser.parse(contentType: ct, body: mdn.body)
        XCTAssertEqual(parsed.fields.disposition, "processed")
        XCTAssertEqual(parsed.fields.originalMessageID, "<7@acme>")
        XCTAssertEqual(parsed.fields.mic?.algorithm, "sha256")
        XCTAssertEqual(parsed.fields.mic?.base64, DigestAlgorithm.sha256.hash(inner).base64EncodedString())
        let info = try CMSVerifier.verifyDetached(signature: try XCTUnwrap(parsed.signatureDER), content: try XCTUnwrap(parsed.signedEntity),
                                                  trusted: [Self.gateway.cert])
        XCTAssertEqual(info.digest, .sha256)
        XCTAssertEqual(mdn.headers.first { $0.name == "AS2-To" }?.value, "ACME")
        XCTAssertEqual(mdn.headers.first { $0.name == "AS2-From" }?.value, "GATEWAY")
    }

    /// The MIC is the verified signature's digest only when the algorithms agree; a MIC asked for
    /// with another algorithm is hashed over the content.
    func testMICReusesTheSignatureDigestOnlyForTheSameAlgorithm() throws {
        let content = Data("Content-Type: application/xml\r\n\r\n<x/>".utf8)
        let marker = Data(repeating: 0xAB, count: 32)
        let signature = SignatureInfo(digest: .sha256, signatureAlgorithm: "rsa-pkcs1-v1_5", signer: Self.gateway.cert, contentDigest: marker)
        let sha256 = AS2MDNPlan(sign: false, micAlgorithm: .sha256, micSpelling: "sha-256", failure: nil)
        XCTAssertEqual(sha256.digest(of: content, signedAs: signature), marker, "taken from the signature, not hashed again")
        XCTAssertEqual(sha256.digest(of: content, signedAs: nil), DigestAlgorithm.sha256.hash(content))
        let sha384 = AS2MDNPlan(sign: false, micAlgorithm: .sha384, micSpelling: "sha384", failure: nil)
        XCTAssertEqual(sha384.digest(of: content, signedAs: signature), DigestAlgorithm.sha384.hash(content))
        var unsignedAttributes = signature
        unsignedAttributes.contentDigest = nil
        XCTAssertEqual(sha256.digest(of: content, signedAs: unsignedAttributes), DigestAlgorithm.sha256.hash(content))
    }
}
