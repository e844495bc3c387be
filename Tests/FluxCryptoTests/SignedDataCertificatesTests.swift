@testable import FluxCrypto
import Foundation
import Testing

/// The verifier's first try, without the certificates a signature embeds, must change no answer.
@Suite struct SignedDataCertificatesTests {
    let alice = TestIdentity.alice
    let bob = TestIdentity.bob

    @Test func removesOnlyTheCertificates() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            try bob.write(to: dir, as: "bob")
            // Two embedded certificates (the signer's and an extra one).
            let signature = try opensslSign(sampleContent, by: "alice", options: ["-certfile", "bob.cert.pem"], in: dir)
            let bare = try #require(SignedDataCertificates.removing(from: signature))
            let before = try DERNode(der: signature)
            let after = try DERNode(der: bare)
            #expect(before[1, 0].children.contains { $0.tag == 0xA0 })
            #expect(!after[1, 0].children.contains { $0.tag == 0xA0 })
            #expect(after[1, 0].children == before[1, 0].children.filter { $0.tag != 0xA0 })
            #expect(after[0] == before[0])

            // OpenSSL itself still verifies it, given the signer's certificate separately.
            try bare.write(to: dir.file("bare.der"))
            try mustRunOpenSSL([
                "cms", "-verify", "-binary", "-inform", "DER", "-in", "bare.der", "-content", "signed-content",
                "-certfile", "alice.cert.pem", "-CAfile", "alice.cert.pem", "-purpose", "any", "-out", "/dev/null",
            ], in: dir)
            let info = try #require(try CMSVerifier.verify(bare, content: sampleContent, trusted: [bob.certificate, alice.certificate],
                                                           signersMustBeTrusted: true))
            #expect(info.signer.fingerprintSHA256 == alice.certificate.fingerprintSHA256)
        }
    }

    @Test func leavesAloneWhatItCannotRewrite() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            #expect(SignedDataCertificates.removing(from: try opensslSign(sampleContent, by: "alice", options: ["-nocerts"], in: dir)) == nil)
            // Indefinite lengths (a streaming sender): verified as they came.
            #expect(SignedDataCertificates.removing(from: try opensslSign(sampleContent, by: "alice", options: ["-stream"], in: dir)) == nil)
            let signature = try opensslSign(sampleContent, by: "alice", options: [], in: dir)
            #expect(SignedDataCertificates.removing(from: signature.prefix(signature.count - 40)) == nil)
            #expect(SignedDataCertificates.removing(from: Data("garbage".utf8)) == nil)
            #expect(SignedDataCertificates.removing(from: Data()) == nil)
            #expect(SignedDataCertificates.removing(from: try CMSCompression.compress(sampleContent)) == nil)
        }
    }

    /// A leaf issued by a CA, the CA embedded too (as many AS2 products send). Pinning the leaf
    /// must work on both paths: the full check used to refuse it ("verified, but not up to a
    /// trusted certificate"), taking the untrusted CA above the leaf in the chain for the anchor.
    /// Pinning the CA goes through the full check (the signer itself is not trusted).
    @Test func chainsStillUseTheEmbeddedCertificates() throws {
        try withTemporaryDirectory { dir in
            let (ca, leaf) = try makePartnerCAAndLeaf(in: dir)
            let signature = try opensslSign(sampleContent, by: "leaf", options: ["-certfile", "ca.cert.pem"], in: dir)
            let bare = try #require(SignedDataCertificates.removing(from: signature))

            #expect(try CMSVerifier.verify(bare, content: sampleContent, trusted: [leaf], signersMustBeTrusted: true)?.signer.fingerprintSHA256
                    == leaf.fingerprintSHA256)
            #expect(try CMSVerifier.verify(signature, content: sampleContent, trusted: [leaf], signersMustBeTrusted: false)?.signer.fingerprintSHA256
                    == leaf.fingerprintSHA256)
            #expect(try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [leaf]).signer.fingerprintSHA256
                    == leaf.fingerprintSHA256)

            #expect(try CMSVerifier.verify(bare, content: sampleContent, trusted: [ca], signersMustBeTrusted: true) == nil)
            #expect(try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [ca]).signer.fingerprintSHA256
                    == ca.fingerprintSHA256)
            // Without the embedded leaf nothing leads from the signature to the CA.
            let error = #expect(throws: CryptoError.self) {
                try CMSVerifier.verifyDetached(signature: bare, content: sampleContent, trusted: [ca])
            }
            #expect(error?.code == "cms-verify-signer")
        }
    }
}
