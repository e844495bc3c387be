import FluxAS2
import FluxCrypto
import XCTest

/// The unwrap pipeline on requests captured from pyas2lib 1.4.4 (Tests/FluxMIMETests/Fixtures,
/// made by scripts/as2peer/make_mime_fixtures.py with a test-only key pair that both signs and
/// decrypts): the MIC we compute must be the one pyas2lib expects back.
final class PyAS2CapturedMessageTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FluxMIMETests/Fixtures")

    func load(_ name: String) throws -> (AS2Request, Data) {
        let raw = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).as2"))
        let sep = try XCTUnwrap(raw.range(of: Data("\r\n\r\n".utf8)))
        let body = raw[sep.upperBound...]
        var request = Data("POST /as2 HTTP/1.1\r\nContent-Length: \(body.count)\r\n".utf8)
        request += raw
        var parser = HTTPRequestParser()
        let events = try parser.feed(Array(request))
        guard case .head(let h) = events.first else { throw HTTPParseError(400, "the parser gave no head") }
        return (try AS2Request(head: h.head), Data(body))
    }

    func testEveryCapturedMessageUnwrapsWithPyas2libsMIC() throws {
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("manifest.json"))) as? [String: [String: Any]])
        let key = try PrivateKey(pemFile: Self.fixtures.appendingPathComponent("test-key.pem").path)
        let cert = try Certificate(pemFile: Self.fixtures.appendingPathComponent("test-cert.pem").path)
        let identity = AS2LocalIdentity(as2IDs: ["GATEWAY"], decryptionKeys: [DecryptionKey(key: key, certificate: cert)],
                                        signer: CMSSigner(key: key, certificate: cert), reportingUA: "test")
        var checked = 0
        for (name, entry) in manifest where !name.hasPrefix("mdn-") {
            guard FileManager.default.fileExists(atPath: Self.fixtures.appendingPathComponent("\(name).as2").path) else { continue }
            let (request, body) = try load(name)
            XCTAssertEqual(request.as2To, "GATEWAY")
            let partner = AS2PartnerProfile(partnerID: "sender", as2ID: request.as2From, certificates: [cert], requireSignature: false,
                                            requireEncryption: false)
            let u: AS2Unwrapped
            switch AS2Unwrapper.unwrap(request: request, body: body, partner: partner, identity: identity) {
            case .success(let v): u = v
            case .failure(let f): XCTFail("\(name): \(f.disposition) \(f.detail)"); continue
            }
            XCTAssertFalse(u.payload.isEmpty, name)
            if let mic = entry["mic"] as? String, let digest = entry["digest"] as? String {
                let alg = try XCTUnwrap(DigestAlgorithm(as2Name: digest))
                XCTAssertEqual(alg.hash(u.micContent).base64EncodedString(), mic, "\(name): MIC as pyas2lib computed it")
                XCTAssertNotNil(u.signature, name)
            }
            if name.contains("encrypted") { XCTAssertNotNil(u.encryption, name) }
            if name.contains("compressed") { XCTAssertNotEqual(u.compression, .none, name) }
            if let plain = entry["uncompressed"] as? String, name == "compressed" {
                // compressed only: the MIC covers the uncompressed entity with its headers (RFC 5402)
                XCTAssertEqual(u.micContent, try Data(contentsOf: Self.fixtures.appendingPathComponent(plain)))
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 7, "the captured set shrank")
    }
}
