import XCTest
@testable import FluxMIME

final class ContentTypeTests: XCTestCase {
    func testTypicalAS2Values() throws {
        let signed = try XCTUnwrap(ContentType("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"----=_Part_1_2.3\""))
        XCTAssertEqual(signed.mediaType, "multipart/signed")
        XCTAssertTrue(signed.isMultipart)
        XCTAssertEqual(signed.parameters, ["protocol": "application/pkcs7-signature", "micalg": "sha-256", "boundary": "----=_Part_1_2.3"])

        let enc = try XCTUnwrap(ContentType("Application/PKCS7-MIME; smime-type=enveloped-data; name=smime.p7m"))
        XCTAssertEqual(enc.type, "application")
        XCTAssertEqual(enc.subtype, "pkcs7-mime")
        XCTAssertEqual(enc[parameter: "SMIME-TYPE"], "enveloped-data")
        XCTAssertEqual(enc[parameter: "name"], "smime.p7m")
        XCTAssertNil(enc[parameter: "charset"])
    }

    func testLenientSyntax() throws {
        let ct = try XCTUnwrap(ContentType("  TEXT / Plain ;CHARSET = \"UTF-8\" ; format=flowed;;  "))
        XCTAssertEqual(ct.mediaType, "text/plain")
        XCTAssertEqual(ct.parameters, ["charset": "UTF-8", "format": "flowed"])

        // Unquoted values with '/' and '=' (boundary=----=_x), valueless and empty parameters.
        let loose = try XCTUnwrap(ContentType("multipart/signed; protocol=application/pkcs7-signature; boundary=----=_x=1; micalg; =v"))
        XCTAssertEqual(loose[parameter: "protocol"], "application/pkcs7-signature")
        XCTAssertEqual(loose[parameter: "boundary"], "----=_x=1")
        XCTAssertEqual(loose.parameters.count, 2)
    }

    func testQuotedStrings() throws {
        let ct = try XCTUnwrap(ContentType(#"application/xml; name="a \"quoted\" name; with semicolon\\.xml"; x="unterminated"#))
        XCTAssertEqual(ct[parameter: "name"], #"a "quoted" name; with semicolon\.xml"#)
        XCTAssertEqual(ct[parameter: "x"], "unterminated")
        let junk = try XCTUnwrap(ContentType(#"text/plain; a="1"junk; b=2"#))
        XCTAssertEqual(junk.parameters, ["a": "1", "b": "2"])
    }

    func testFirstOccurrenceWinsAndValueCaseKept() throws {
        let ct = try XCTUnwrap(ContentType("multipart/mixed; Boundary=AbC; boundary=other"))
        XCTAssertEqual(ct[parameter: "boundary"], "AbC")
    }

    func testInvalid() {
        XCTAssertNil(ContentType(""))
        XCTAssertNil(ContentType("text"))
        XCTAssertNil(ContentType("text/"))
        XCTAssertNil(ContentType("/plain"))
        XCTAssertNil(ContentType("te xt/plain"))
        XCTAssertNil(ContentType("text/plain/x"))
        XCTAssertNil(ContentType("; boundary=x"))
    }

    func testContentDisposition() {
        let cd = ContentDisposition("Attachment; FileName=\"invoice 1.xml\"; size=12")
        XCTAssertEqual(cd.type, "attachment")
        XCTAssertEqual(cd[parameter: "filename"], "invoice 1.xml")
        XCTAssertEqual(cd[parameter: "SIZE"], "12")
    }
}
