import FluxCrypto
import Foundation
import Testing

/// A MIME-like payload with CR, LF, NUL and every byte value: binary mode must keep it intact.
let sampleContent = Data("Content-Type: application/xml\r\n\r\n<Invoice/>\r\n".utf8) + Data((0...255).map { UInt8($0) })

/// Paths in the DERNode tree of an (Auth)EnvelopedData ContentInfo written by OpenSSL (no
/// originatorInfo).
enum EnvelopePath {
    static let recipientInfos = [1, 0, 1]
    static let encryptedContentInfo = [1, 0, 2]
    /// keyEncryptionAlgorithm and encryptedKey within a KeyTransRecipientInfo.
    static let keyEncryptionAlgorithm = 2
    static let encryptedKey = 3
}

/// `openssl cms -encrypt` of `content` for the certificates `recipients` (names written by
/// `TestIdentity.write`), DER (or BER with `-stream`).
func opensslEncrypt(_ content: Data, for recipients: [String], options: [String], in dir: URL) throws -> Data {
    try content.write(to: dir.file("plain"))
    var arguments = ["cms", "-encrypt", "-binary", "-outform", "DER", "-in", "plain", "-out", "enveloped.der"] + options
    // Plain certificate arguments; callers needing -keyopt pass "-recip cert -keyopt ..." in `options`.
    arguments += recipients.map { "\($0).cert.pem" }
    try mustRunOpenSSL(arguments, in: dir)
    return try contents(of: "enveloped.der", in: dir)
}

struct CipherCase: Sendable, CustomTestStringConvertible {
    var option: String
    var cipher: String
    var kind: CMSEnvelopeKind
    var blockSize: Int
    var testDescription: String { cipher }

    static let all: [CipherCase] = [
        CipherCase(option: "-des3", cipher: "des-ede3-cbc", kind: .enveloped, blockSize: 8),
        CipherCase(option: "-aes128", cipher: "aes-128-cbc", kind: .enveloped, blockSize: 16),
        CipherCase(option: "-aes192", cipher: "aes-192-cbc", kind: .enveloped, blockSize: 16),
        CipherCase(option: "-aes256", cipher: "aes-256-cbc", kind: .enveloped, blockSize: 16),
        CipherCase(option: "-aes-128-gcm", cipher: "aes-128-gcm", kind: .authEnveloped, blockSize: 1),
        CipherCase(option: "-aes-256-gcm", cipher: "aes-256-gcm", kind: .authEnveloped, blockSize: 1),
    ]
}

@Suite struct CMSDecryptorTests {
    let alice = TestIdentity.alice
    let bob = TestIdentity.bob
    let carol = TestIdentity.carol

    @Test(arguments: CipherCase.all)
    func decryptsWhatOpenSSLEncrypts(_ cipherCase: CipherCase) throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let message = try opensslEncrypt(sampleContent, for: ["alice"], options: [cipherCase.option], in: dir)
            let result = try CMSDecryptor.decrypt(der: message, keys: [alice.decryptionKey])
            #expect(result.content == sampleContent)
            #expect(result.kind == cipherCase.kind)
            #expect(result.cipher == cipherCase.cipher)
            #expect(result.keyTransport == "rsaes-pkcs1-v1_5")
            #expect(result.recipient.fingerprintSHA256 == alice.certificate.fingerprintSHA256)
        }
    }

    @Test(arguments: [["-aes256"], ["-aes-128-gcm"]], [
        ["-keyopt", "rsa_padding_mode:oaep"],
        ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"],
    ])
    func decryptsRSAOAEPKeyTransport(cipher: [String], keyOptions: [String]) throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            // -keyopt applies to the preceding -recip.
            let message = try opensslEncrypt(sampleContent, for: [], options: cipher + ["-recip", "alice.cert.pem"] + keyOptions, in: dir)
            let algorithm = try DERNode(der: message)[EnvelopePath.recipientInfos + [0, EnvelopePath.keyEncryptionAlgorithm]]
            // The SHA-256 variant carries explicit parameters, the default one an empty SEQUENCE.
            #expect(algorithm.children[1].children.isEmpty == !keyOptions.contains("rsa_oaep_md:sha256"))

            let result = try CMSDecryptor.decrypt(der: message, keys: [alice.decryptionKey])
            #expect(result.content == sampleContent)
            #expect(result.keyTransport == "rsaes-oaep")
            #expect(result.cipher == (cipher == ["-aes256"] ? "aes-256-cbc" : "aes-128-gcm"))
        }
    }

    @Test func acceptsOAEPWithAbsentOrNullParameters() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let message = try opensslEncrypt(
                sampleContent, for: [], options: ["-aes128", "-recip", "alice.cert.pem", "-keyopt", "rsa_padding_mode:oaep"], in: dir)
            let path = EnvelopePath.recipientInfos + [0, EnvelopePath.keyEncryptionAlgorithm]
            var tree = try DERNode(der: message)
            #expect(tree[path].children.count == 2)
            let oid = tree[path].children[0]

            tree[path].children = [oid]  // parameters absent
            let absent = try CMSDecryptor.decrypt(der: tree.der, keys: [alice.decryptionKey])
            #expect(absent.content == sampleContent)
            #expect(absent.keyTransport == "rsaes-oaep")

            tree[path].children = [oid, DERNode(tag: 0x05)]  // NULL
            let null = try CMSDecryptor.decrypt(der: tree.der, keys: [alice.decryptionKey])
            #expect(null.content == sampleContent)
        }
    }

    @Test func decryptsBERFromStreamingSenders() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            for option in ["-aes128", "-aes-256-gcm"] {
                // OpenSSL's own streaming output: indefinite lengths, constructed content.
                let streamed = try opensslEncrypt(sampleContent, for: ["alice"], options: [option, "-stream"], in: dir)
                #expect(streamed[1] == 0x80, "expected an indefinite length")
                #expect(try CMSDecryptor.decrypt(der: streamed, keys: [alice.decryptionKey]).content == sampleContent)

                // BouncyCastle-style: every length indefinite, the ciphertext in 16-byte pieces.
                let der = try opensslEncrypt(sampleContent, for: ["alice"], options: [option], in: dir)
                let ber = try DERNode(der: der).ber(chunk: 16)
                #expect(ber != der)
                let result = try CMSDecryptor.decrypt(der: ber, keys: [alice.decryptionKey])
                #expect(result.content == sampleContent)
                #expect(result.cipher == (option == "-aes128" ? "aes-128-cbc" : "aes-256-gcm"))
            }
        }
    }

    @Test func picksTheRightKeyDuringRollover() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            try bob.write(to: dir, as: "bob")
            try carol.write(to: dir, as: "carol")
            let keys = [alice.decryptionKey, bob.decryptionKey]

            let forBob = try opensslEncrypt(sampleContent, for: ["bob"], options: ["-aes256"], in: dir)
            let opened = try CMSDecryptor.decrypt(der: forBob, keys: keys)
            #expect(opened.content == sampleContent)
            #expect(opened.recipient.fingerprintSHA256 == bob.certificate.fingerprintSHA256)

            // Encrypted for a third party and for us (a sender keeping a copy for itself).
            let forCarolAndBob = try opensslEncrypt(sampleContent, for: ["carol", "bob"], options: ["-aes-128-gcm"], in: dir)
            let both = try CMSDecryptor.decrypt(der: forCarolAndBob, keys: keys)
            #expect(both.content == sampleContent)
            #expect(both.recipient.fingerprintSHA256 == bob.certificate.fingerprintSHA256)

            let forCarol = try opensslEncrypt(sampleContent, for: ["carol"], options: ["-aes256"], in: dir)
            let error = #expect(throws: CryptoError.self) { try CMSDecryptor.decrypt(der: forCarol, keys: keys) }
            #expect(error?.code == "cms-decrypt-recipient")
            // The message names who it was for, to help the operator.
            #expect(error?.message.contains("issuer=CN=Carol AS2,O=Flux Tests serial=\(carol.certificate.serialNumberHex)") == true,
                    "\(error?.message ?? "")")

            let none = #expect(throws: CryptoError.self) { try CMSDecryptor.decrypt(der: forBob, keys: []) }
            #expect(none?.code == "cms-decrypt-recipient")
        }
    }

    @Test func fallsBackToOtherKeysWhenTheRecipientIdentifierIsWrong() throws {
        // Bob's key under a certificate with another issuer and serial: the sender names that
        // certificate, while we only hold Bob's current one.
        let stale = try Certificate.selfSigned(key: bob.key, commonName: "Bob AS2 (old)", organization: nil, days: 1)
        try withTemporaryDirectory { dir in
            try stale.pemData().write(to: dir.file("stale.cert.pem"))
            for options in [["-aes192"], ["-aes-128-gcm", "-recip", "stale.cert.pem", "-keyopt", "rsa_padding_mode:oaep"]] {
                let message = try opensslEncrypt(sampleContent, for: options.count == 1 ? ["stale"] : [], options: options, in: dir)
                let result = try CMSDecryptor.decrypt(der: message, keys: [alice.decryptionKey, bob.decryptionKey])
                #expect(result.content == sampleContent)
                #expect(result.recipient.fingerprintSHA256 == bob.certificate.fingerprintSHA256)
            }
        }
    }

    @Test(arguments: CipherCase.all)
    func corruptedCiphertextIsRejected(_ cipherCase: CipherCase) throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let message = try opensslEncrypt(sampleContent, for: ["alice"], options: [cipherCase.option], in: dir)
            let tree = try DERNode(der: message)
            let contentPath = EnvelopePath.encryptedContentInfo + [2]
            let ciphertext = tree[contentPath].content
            #expect(tree[contentPath].tag == 0x80)

            var corrupted = tree
            if cipherCase.kind == .enveloped {
                // CBC has no integrity check: flip the bit that turns the final padding byte into
                // an invalid one (last byte of the second-to-last block), which must be detected.
                corrupted[contentPath].content[ciphertext.count - cipherCase.blockSize - 1] ^= 0x80
            } else {
                // GCM authenticates everything: any single flipped bit must be detected.
                corrupted[contentPath].content[ciphertext.count / 2] ^= 0x01
            }
            let error = #expect(throws: CryptoError.self) {
                try CMSDecryptor.decrypt(der: corrupted.der, keys: [alice.decryptionKey])
            }
            #expect(error?.code == "cms-decrypt", "\(error?.description ?? "")")
            #expect(error?.message.contains("Alice AS2") == true)

            if cipherCase.kind == .authEnveloped {
                var badTag = tree
                let macIndex = tree[1, 0].children.count - 1
                #expect(badTag[1, 0, macIndex].tag == 0x04)
                badTag[1, 0, macIndex].content[0] ^= 0x01
                let tagError = #expect(throws: CryptoError.self) {
                    try CMSDecryptor.decrypt(der: badTag.der, keys: [alice.decryptionKey])
                }
                #expect(tagError?.code == "cms-decrypt")

                // A damaged key transport yields a random content key: GCM's tag rejects it.
                var badKey = tree
                badKey[EnvelopePath.recipientInfos + [0, EnvelopePath.encryptedKey]].content[100] ^= 0x01
                let keyError = #expect(throws: CryptoError.self) {
                    try CMSDecryptor.decrypt(der: badKey.der, keys: [alice.decryptionKey])
                }
                #expect(keyError?.code == "cms-decrypt")
                // Same wording whichever step failed: no padding oracle.
                #expect(keyError?.message == tagError?.message)
            }
        }
    }

    @Test func malformedInputIsAFormatError() throws {
        let keys = [alice.decryptionKey]
        func code(_ der: Data) -> String? {
            (#expect(throws: CryptoError.self) { try CMSDecryptor.decrypt(der: der, keys: keys) })?.code
        }
        #expect(code(Data()) == "cms-decrypt-format")
        #expect(code(Data("MIME-Version: 1.0\r\n\r\nnot CMS".utf8)) == "cms-decrypt-format")
        #expect(code(Data([0x30, 0x80, 0x00])) == "cms-decrypt-format")
        // A signature, and a compressed message, are CMS but not enveloped.
        let signature = try CMSSigner(key: alice.key, certificate: alice.certificate).signDetached(sampleContent)
        #expect(code(signature) == "cms-decrypt-format")
        #expect(code(try CMSCompression.compress(sampleContent)) == "cms-decrypt-format")

        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let message = try opensslEncrypt(sampleContent, for: ["alice"], options: ["-aes128"], in: dir)
            #expect(code(message.prefix(message.count - 40)) == "cms-decrypt-format")

            var tree = try DERNode(der: message)
            var detached = tree
            detached[EnvelopePath.encryptedContentInfo].children.removeLast()
            let error = #expect(throws: CryptoError.self) { try CMSDecryptor.decrypt(der: detached.der, keys: keys) }
            #expect(error?.code == "cms-decrypt-format")
            #expect(error?.message.contains("absent") == true, "\(error?.message ?? "")")

            // An unreasonable number of RecipientInfos is refused before any RSA operation.
            let recipient = tree[EnvelopePath.recipientInfos].children[0]
            tree[EnvelopePath.recipientInfos].children = Array(repeating: recipient, count: 17)
            #expect(code(tree.der) == "cms-decrypt-format")
            tree[EnvelopePath.recipientInfos].children = Array(repeating: recipient, count: 16)
            #expect(try CMSDecryptor.decrypt(der: tree.der, keys: keys).content == sampleContent)
        }
    }

    @Test func privateKeyWorkPerMessageIsBounded() throws {
        try withTemporaryDirectory { dir in
            try carol.write(to: dir, as: "carol")
            // 16 RecipientInfos for someone else: the fallback may not try every key on each.
            var tree = try DERNode(der: opensslEncrypt(sampleContent, for: ["carol"], options: ["-aes128"], in: dir))
            tree[EnvelopePath.recipientInfos].children = Array(repeating: tree[EnvelopePath.recipientInfos].children[0], count: 16)
            let error = #expect(throws: CryptoError.self) {
                try CMSDecryptor.decrypt(der: tree.der, keys: [alice.decryptionKey, bob.decryptionKey])
            }
            #expect(error?.code == "cms-decrypt-recipient")
            #expect(error?.message.contains("stopped after 16 private-key operations") == true, "\(error?.message ?? "")")
        }
    }

    @Test func keysThatDoNotMatchTheirCertificateAreNotUsed() throws {
        try withTemporaryDirectory { dir in
            try bob.write(to: dir, as: "bob")
            let message = try opensslEncrypt(sampleContent, for: ["bob"], options: ["-aes128"], in: dir)
            let misconfigured = DecryptionKey(key: carol.key, certificate: bob.certificate)
            let error = #expect(throws: CryptoError.self) {
                try CMSDecryptor.decrypt(der: message, keys: [misconfigured, alice.decryptionKey])
            }
            #expect(error?.code == "cms-decrypt-recipient")
            #expect(error?.message.contains("does not match") == true, "\(error?.message ?? "")")
        }
    }
}
