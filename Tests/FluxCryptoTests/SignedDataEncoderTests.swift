import Foundation
import Testing

@testable import FluxCrypto

/// `SignedDataEncoder` writes the SignedData itself; OpenSSL's CMS API (`signWithOpenSSL`) and
/// `openssl cms -verify` are the oracles.
@Suite struct SignedDataEncoderTests {
    static let ecIdentity: (key: PrivateKey, certificate: Certificate) = {
        do {
            let key = try PrivateKey.generateECP256()
            return (key, try Certificate.selfSigned(key: key, commonName: "Receipts EC", organization: nil, days: 2))
        } catch {
            fatalError("EC test identity: \(error)")
        }
    }()

    /// RSA PKCS#1 v1.5 is deterministic: with the same signing time, the encoder's bytes must be
    /// OpenSSL's, for each digest and for both time encodings (UTCTime until 2049).
    @Test(arguments: DigestAlgorithm.allCases, [Date(timeIntervalSince1970: 1_795_000_000), Date(timeIntervalSince1970: 2_600_000_000)])
    func rsaSignatureIsOpenSSLsByteForByte(digest: DigestAlgorithm, time: Date) throws {
        let alice = TestIdentity.alice
        let signer = CMSSigner(key: alice.key, certificate: alice.certificate)
        let encoder = try #require(SignedDataEncoder(certificate: alice.certificate, key: alice.key))
        let ours = try encoder.encode(contentDigest: [UInt8](digest.hash(sampleContent)), algorithm: digest, signingTime: time)
        let theirs = try signer.signWithOpenSSL(sampleContent, digest: digest, signingTime: time)
        #expect(Data(ours) == theirs)
    }

    /// ECDSA signatures are randomised: everything but the signature value must match, and
    /// `openssl cms -verify` must accept ours.
    @Test(arguments: DigestAlgorithm.allCases)
    func ecSignatureMatchesOpenSSLsAndVerifies(digest: DigestAlgorithm) throws {
        let (key, certificate) = Self.ecIdentity
        let signer = CMSSigner(key: key, certificate: certificate)
        let time = Date(timeIntervalSince1970: 1_795_000_000)
        let encoder = try #require(SignedDataEncoder(certificate: certificate, key: key))
        let ours = Data(try encoder.encode(contentDigest: [UInt8](digest.hash(sampleContent)), algorithm: digest, signingTime: time))
        let theirs = try signer.signWithOpenSSL(sampleContent, digest: digest, signingTime: time)
        #expect(try Self.withoutSignatureValue(ours) == Self.withoutSignatureValue(theirs))

        let signature = try signer.signDetached(sampleContent, digest: digest)
        try withTemporaryDirectory { dir in
            try sampleContent.write(to: dir.file("content"))
            try signature.write(to: dir.file("sig.der"))
            try certificate.pemData().write(to: dir.file("cert.pem"))
            let verify = [
                "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "content",
                "-CAfile", "cert.pem", "-purpose", "any", "-out", "/dev/null",
            ]
            try mustRunOpenSSL(verify, in: dir)
            try (sampleContent + Data("x".utf8)).write(to: dir.file("content"))
            #expect(try openssl(verify, in: dir).status != 0)
        }
        let info = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [certificate])
        #expect(info.digest == digest)
    }

    @Test func signsThroughTheEncoderOnlyForAMatchingRSAOrECKey() throws {
        #expect(SignedDataEncoder(certificate: TestIdentity.alice.certificate, key: TestIdentity.alice.key) != nil)
        #expect(SignedDataEncoder(certificate: TestIdentity.alice.certificate, key: TestIdentity.bob.key) == nil)
        #expect(SignedDataEncoder(certificate: Self.ecIdentity.certificate, key: TestIdentity.alice.key) == nil)
    }

    /// The DER with the SignerInfo's signature OCTET STRING emptied.
    private static func withoutSignatureValue(_ der: Data) throws -> Data {
        var tree = try DERNode(der: der)
        let signerInfo = [1, 0, tree[1, 0].children.count - 1, 0]
        let last = tree[signerInfo].children.count - 1
        #expect(tree[signerInfo + [last]].tag == 0x04)
        tree[signerInfo + [last]].content = []
        return tree.der
    }
}
