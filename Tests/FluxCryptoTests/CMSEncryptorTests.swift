import FluxCrypto
import Foundation
import Testing

@Suite struct CMSEncryptorTests {
    let alice = TestIdentity.alice

    struct Case: Sendable, CustomTestStringConvertible {
        var cipher: String
        var oaep: Bool
        var testDescription: String { "\(cipher)\(oaep ? " OAEP" : "")" }

        static let all = CMSEncryptor.supportedCiphers.flatMap { [Case(cipher: $0, oaep: false), Case(cipher: $0, oaep: true)] }
    }

    @Test(arguments: Case.all)
    func openSSLDecryptsWhatWeEncrypt(_ testCase: Case) throws {
        let message = try CMSEncryptor.encrypt(sampleContent, for: alice.certificate, cipher: testCase.cipher, oaep: testCase.oaep)

        let tree = try DERNode(der: message)
        let gcm = testCase.cipher.hasSuffix("-gcm")
        let authEnvelopedData: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x17]
        let envelopedData: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x03]
        #expect(tree.children[0].content == (gcm ? authEnvelopedData : envelopedData))
        let keyAlgorithm = tree[EnvelopePath.recipientInfos + [0, EnvelopePath.keyEncryptionAlgorithm]]
        let rsaesOAEP: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x07]
        let rsaEncryption: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01]
        #expect(keyAlgorithm.children[0].content == (testCase.oaep ? rsaesOAEP : rsaEncryption))
        if testCase.oaep {
            // RFC 4055 defaults (SHA-1, MGF1-SHA-1) as an empty SEQUENCE.
            #expect(keyAlgorithm.children[1] == DERNode(tag: 0x30))
        }

        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            try message.write(to: dir.file("message.der"))
            try mustRunOpenSSL([
                "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "message.der",
                "-inkey", "alice.key.pem", "-recip", "alice.cert.pem", "-out", "plain",
            ], in: dir)
            #expect(try contents(of: "plain", in: dir) == sampleContent)
        }

        let opened = try CMSDecryptor.decrypt(der: message, keys: [alice.decryptionKey])
        #expect(opened.content == sampleContent)
        #expect(opened.cipher == testCase.cipher)
        #expect(opened.kind == (gcm ? .authEnveloped : .enveloped))
        #expect(opened.keyTransport == (testCase.oaep ? "rsaes-oaep" : "rsaes-pkcs1-v1_5"))
    }

    @Test func largeAndEmptyContent() throws {
        let large = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        for content in [Data(), large] {
            let message = try CMSEncryptor.encrypt(content, for: alice.certificate, cipher: "aes-256-gcm", oaep: true)
            #expect(try CMSDecryptor.decrypt(der: message, keys: [alice.decryptionKey]).content == content)
        }
    }

    @Test func refusesUnknownCiphersAndNonRSARecipients() throws {
        for cipher in ["rc2-40-cbc", "aes-128-ecb", "AES-128-CBC", "des-cbc", ""] {
            let error = #expect(throws: CryptoError.self) {
                try CMSEncryptor.encrypt(sampleContent, for: alice.certificate, cipher: cipher, oaep: false)
            }
            #expect(error?.code == "cms-encrypt")
        }
        try withTemporaryDirectory { dir in
            try mustRunOpenSSL([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key.pem",
                "-out", "ec.cert.pem", "-days", "2", "-subj", "/CN=EC partner",
            ], in: dir)
            let ec = try Certificate(pemFile: dir.file("ec.cert.pem").path)
            let error = #expect(throws: CryptoError.self) {
                try CMSEncryptor.encrypt(sampleContent, for: ec, cipher: "aes-128-cbc", oaep: false)
            }
            #expect(error?.code == "cms-encrypt")
            #expect(error?.message.contains("RSA") == true)
        }
    }

    @Test func concurrentUseOfSharedKeys() async throws {
        let keys = [TestIdentity.bob.decryptionKey, alice.decryptionKey]
        let certificate = alice.certificate
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 {
                group.addTask {
                    let content = Data("message \(index)".utf8)
                    let cipher = CMSEncryptor.supportedCiphers[index % CMSEncryptor.supportedCiphers.count]
                    let message = try CMSEncryptor.encrypt(content, for: certificate, cipher: cipher, oaep: index.isMultiple(of: 2))
                    let opened = try CMSDecryptor.decrypt(der: message, keys: keys)
                    #expect(opened.content == content)
                    #expect(opened.recipient.fingerprintSHA256 == certificate.fingerprintSHA256)
                }
            }
            try await group.waitForAll()
        }
    }
}
