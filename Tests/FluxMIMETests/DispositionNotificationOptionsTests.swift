import XCTest
@testable import FluxMIME

final class DispositionNotificationOptionsTests: XCTestCase {
    typealias P = DispositionNotificationOptions.Parameter

    func testRFC4130Example() {
        let o = DispositionNotificationOptions("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1")
        XCTAssertEqual(o.signedReceiptProtocol, P(importance: "optional", values: ["pkcs7-signature"]))
        XCTAssertEqual(o.signedReceiptMICAlg, P(importance: "optional", values: ["sha-256", "sha1"]))
        XCTAssertTrue(o.wantsSignedReceipt)
        XCTAssertFalse(o.signedReceiptMICAlg!.isRequired)
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["sha1", "sha256"]), "sha-256")
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["SHA-1"]), "sha1")
        XCTAssertNil(o.firstSupportedMICAlgorithm(["md5"]))
    }

    func testRequiredNoSpacesAndUpperCase() {
        // Seen from Galaxy Gateway (oxalis#174) and others.
        let o = DispositionNotificationOptions("Signed-Receipt-Protocol=REQUIRED,pkcs7-signature;signed-receipt-micalg=required,sha256")
        XCTAssertEqual(o.signedReceiptProtocol, P(importance: "required", values: ["pkcs7-signature"]))
        XCTAssertEqual(o.signedReceiptMICAlg, P(importance: "required", values: ["sha256"]))
        XCTAssertTrue(o.signedReceiptMICAlg!.isRequired)
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["sha-256"]), "sha256", "echo the peer's spelling")
    }

    func testUnderscoreSpellingAndSpaces() {
        // Cleo / OpenAS2 send sha_256 (pyas2-lib#15).
        let o = DispositionNotificationOptions("  signed-receipt-protocol = optional ,  pkcs7-signature ;  signed-receipt-micalg = optional , SHA_256 , sha_1 ; ")
        XCTAssertEqual(o.signedReceiptMICAlg?.values, ["SHA_256", "sha_1"])
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["sha-256"]), "SHA_256")
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["sha1"]), "sha_1")
        XCTAssertTrue(o.wantsSignedReceipt)
    }

    func testOpenAS2Issue60ProtocolWhereMicalgExpected() {
        // OpenAS2#60: a peer put pkcs7-signature among the micalg values. Keep values as given;
        // the caller picks the first one it supports.
        let o = DispositionNotificationOptions("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, pkcs7-signature, sha1")
        XCTAssertEqual(o.signedReceiptMICAlg?.values, ["pkcs7-signature", "sha1"])
        XCTAssertEqual(o.firstSupportedMICAlgorithm(["sha-256", "sha-1"]), "sha1")
        let only = DispositionNotificationOptions("signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, pkcs7-signature")
        XCTAssertNil(only.firstSupportedMICAlgorithm(["sha-256"]), "no usable micalg: caller falls back or fails per importance")
    }

    func testCommaInsteadOfSemicolonMissingImportanceAndQuotes() {
        let comma = DispositionNotificationOptions("signed-receipt-protocol=optional, pkcs7-signature, signed-receipt-micalg=optional, sha-256")
        XCTAssertEqual(comma.signedReceiptProtocol?.values, ["pkcs7-signature"])
        XCTAssertEqual(comma.signedReceiptMICAlg?.values, ["sha-256"])
        let noImportance = DispositionNotificationOptions("signed-receipt-protocol=pkcs7-signature; signed-receipt-micalg=sha-512")
        XCTAssertEqual(noImportance.signedReceiptProtocol, P(importance: "optional", values: ["pkcs7-signature"]))
        XCTAssertEqual(noImportance.firstSupportedMICAlgorithm(["sha-512"]), "sha-512")
        let quoted = DispositionNotificationOptions("signed-receipt-protocol=optional, \"pkcs7-signature\"")
        XCTAssertTrue(quoted.wantsSignedReceipt)
    }

    func testAbsentUnknownAndGarbage() {
        let empty = DispositionNotificationOptions("")
        XCTAssertNil(empty.signedReceiptProtocol)
        XCTAssertNil(empty.signedReceiptMICAlg)
        XCTAssertFalse(empty.wantsSignedReceipt)
        let unknown = DispositionNotificationOptions("foo=bar, baz; ;;,=,signed-receipt-micalg=optional,md5")
        XCTAssertNil(unknown.signedReceiptProtocol)
        XCTAssertEqual(unknown.signedReceiptMICAlg?.values, ["md5"])
        let otherProtocol = DispositionNotificationOptions("signed-receipt-protocol=optional, pgp-signature")
        XCTAssertFalse(otherProtocol.wantsSignedReceipt)
    }

    func testCanonicalMICAlgorithm() {
        for (spelling, canonical) in [("sha1", "sha-1"), ("SHA-1", "sha-1"), ("sha_256", "sha-256"), ("sha256", "sha-256"),
                                      ("Sha-384", "sha-384"), ("sha512", "sha-512"), ("sha-224", "sha-224"), ("md5", "md5")] {
            XCTAssertEqual(DispositionNotificationOptions.canonicalMICAlgorithm(spelling), canonical, spelling)
        }
        XCTAssertNil(DispositionNotificationOptions.canonicalMICAlgorithm("pkcs7-signature"))
        XCTAssertNil(DispositionNotificationOptions.canonicalMICAlgorithm("sha3-256"))
    }
}
