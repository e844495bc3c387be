import FluxCrypto
import Foundation
import Testing

@Suite struct CMSTests {
    /// One key and certificate for the whole suite: RSA generation is the slow part.
    static let identity: (key: PrivateKey, cert: Certificate) = {
        do {
            let key = try PrivateKey.generateRSA()
            let cert = try Certificate.selfSigned(key: key, commonName: "Flux Gateway", organization: "Flux", days: 30)
            return (key, cert)
        } catch {
            fatalError("test identity: \(error)")
        }
    }()

    @Test func detachedSignatureVerifiesWithOpenSSLCommandLine() throws {
        let (key, cert) = Self.identity
        // Binary content with CR, LF and NUL: binary mode must sign the bytes untouched.
        let content = Data("line one\r\nline two\nbinary\0\u{1}\r\n".utf8) + Data((0...255).map { UInt8($0) })
        let signature = try CMSSigner(key: key, certificate: cert).signDetached(content)

        try withTemporaryDirectory { dir in
            try signature.write(to: dir.appendingPathComponent("sig.p7s"))
            try content.write(to: dir.appendingPathComponent("data"))
            try cert.pemData().write(to: dir.appendingPathComponent("cert.pem"))
            var tampered = content
            tampered[0] ^= 0x01
            try tampered.write(to: dir.appendingPathComponent("tampered"))

            let verify = ["cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s", "-CAfile", "cert.pem", "-out", "/dev/null"]
            let good = try openssl(verify + ["-content", "data"], in: dir)
            #expect(good.status == 0, "openssl cms -verify: \(good.stderr)")
            let bad = try openssl(verify + ["-content", "tampered"], in: dir)
            #expect(bad.status != 0)

            // The signature must be detached, SHA-256, and carry a signing time.
            let dump = try openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.p7s", "-out", "dump.txt"], in: dir)
            #expect(dump.status == 0, "\(dump.stderr)")
            let text = try String(contentsOf: dir.appendingPathComponent("dump.txt"), encoding: .utf8)
            #expect(text.contains("eContent: <ABSENT>"))
            #expect(text.contains("algorithm: sha256"))
            #expect(text.contains("signingTime"))
        }
    }

    @Test func detachedSignatureVerifiesWithCMSVerifier() throws {
        let (key, cert) = Self.identity
        let content = Data("invoice batch manifest\n".utf8)
        let signature = try CMSSigner(key: key, certificate: cert).signDetached(content)

        try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [cert])

        let tampered = #expect(throws: CryptoError.self) {
            try CMSVerifier.verifyDetached(signature: signature, content: content + Data("x".utf8), trusted: [cert])
        }
        #expect(tampered?.code == "cms-verify-digest")
        #expect(tampered?.message.contains("content verify error") == true, "\(tampered?.message ?? "")")
    }

    @Test func untrustedSignerAndMalformedSignatureAreRejected() throws {
        let (key, cert) = Self.identity
        let content = Data("hello".utf8)
        let signature = try CMSSigner(key: key, certificate: cert).signDetached(content)

        let otherKey = try PrivateKey.generateRSA()
        let stranger = try Certificate.selfSigned(key: otherKey, commonName: "Stranger", organization: nil, days: 1)
        let untrusted = #expect(throws: CryptoError.self) {
            try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [stranger])
        }
        #expect(untrusted?.code == "cms-verify-signer")
        // The embedded signer certificate is self-signed and not among the trusted ones.
        #expect(untrusted?.message.contains("certificate verify error") == true, "\(untrusted?.message ?? "")")
        #expect(untrusted?.message.contains("self-signed certificate") == true, "\(untrusted?.message ?? "")")

        // Several trusted certificates (rollover): any one that matches is enough.
        try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [stranger, cert])

        let none = #expect(throws: CryptoError.self) {
            try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [])
        }
        #expect(none?.code == "cms-verify")

        let garbage = #expect(throws: CryptoError.self) {
            try CMSVerifier.verifyDetached(signature: Data("not DER".utf8), content: content, trusted: [cert])
        }
        #expect(garbage?.code == "cms-verify-format")
    }

    @Test func verifiesSignatureMadeByOpenSSLCommandLine() throws {
        try withTemporaryDirectory { dir in
            let made = try openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                "-days", "2", "-subj", "/CN=partner", "-sha256",
            ], in: dir)
            try #require(made.status == 0, "\(made.stderr)")
            let content = Data("from a partner\r\n".utf8)
            try content.write(to: dir.appendingPathComponent("data"))
            // -nocerts: the signature does not embed the signer, which must then come from `trusted`.
            let signed = try openssl([
                "cms", "-sign", "-binary", "-md", "sha256", "-nocerts", "-in", "data", "-signer", "cert.pem",
                "-inkey", "key.pem", "-outform", "DER", "-out", "sig.p7s",
            ], in: dir)
            try #require(signed.status == 0, "\(signed.stderr)")
            let signature = try Data(contentsOf: dir.appendingPathComponent("sig.p7s"))
            let cert = try Certificate(pemFile: dir.appendingPathComponent("cert.pem").path)
            try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [cert])
        }
    }

    @Test func signingWithMismatchedKeyFails() throws {
        let (_, cert) = Self.identity
        let otherKey = try PrivateKey.generateRSA()
        let error = #expect(throws: CryptoError.self) {
            try CMSSigner(key: otherKey, certificate: cert).signDetached(Data("x".utf8))
        }
        #expect(error?.code == "cms-sign")
    }

    @Test func concurrentSigningAndVerifyingShareKeyAndCertificate() async throws {
        let signer = CMSSigner(key: Self.identity.key, certificate: Self.identity.cert)
        let cert = Self.identity.cert
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let content = Data("message \(index)".utf8)
                    let signature = try signer.signDetached(content)
                    try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [cert])
                    #expect(Digest.sha256Hex(content).count == 64)
                }
            }
            try await group.waitForAll()
        }
    }
}
