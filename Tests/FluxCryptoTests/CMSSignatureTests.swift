import FluxCrypto
import Foundation
import Testing

/// `openssl cms -sign` of `content` (detached, binary) by `signer` (a name written by
/// `TestIdentity.write`, or files `<signer>.cert.pem` / `<signer>.key.pem` made otherwise).
func opensslSign(_ content: Data, by signer: String, options: [String], in dir: URL) throws -> Data {
    try content.write(to: dir.file("signed-content"))
    try mustRunOpenSSL([
        "cms", "-sign", "-binary", "-outform", "DER", "-in", "signed-content",
        "-signer", "\(signer).cert.pem", "-inkey", "\(signer).key.pem", "-out", "signature.der",
    ] + options, in: dir)
    return try contents(of: "signature.der", in: dir)
}

/// A partner CA ("CN=Partner CA") and a leaf it issued ("CN=Partner AS2"), written to `dir` as
/// ca.{key,cert}.pem and leaf.{key,cert}.pem (so `opensslSign(by: "leaf")` works).
func makePartnerCAAndLeaf(in dir: URL) throws -> (ca: Certificate, leaf: Certificate) {
    try mustRunOpenSSL([
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key.pem", "-out", "ca.cert.pem", "-days", "2",
        "-subj", "/CN=Partner CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
    ], in: dir)
    try mustRunOpenSSL(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key.pem", "-out", "leaf.csr", "-subj", "/CN=Partner AS2"], in: dir)
    try mustRunOpenSSL([
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.cert.pem", "-CAkey", "ca.key.pem", "-CAcreateserial",
        "-days", "2", "-out", "leaf.cert.pem",
    ], in: dir)
    return (try Certificate(pemFile: dir.file("ca.cert.pem").path), try Certificate(pemFile: dir.file("leaf.cert.pem").path))
}

@Suite struct CMSSignatureTests {
    let alice = TestIdentity.alice
    let bob = TestIdentity.bob

    @Test(arguments: DigestAlgorithm.allCases)
    func verifiesOpenSSLSignaturesWithEachDigest(_ digest: DigestAlgorithm) throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let signature = try opensslSign(sampleContent, by: "alice", options: ["-md", digest.rawValue], in: dir)
            let info = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [bob.certificate, alice.certificate])
            #expect(info.digest == digest)
            #expect(info.contentDigest == digest.hash(sampleContent), "the messageDigest attribute, as verified")
            #expect(info.signatureAlgorithm == "rsa-pkcs1-v1_5")
            #expect(info.signer.fingerprintSHA256 == alice.certificate.fingerprintSHA256)
        }
    }

    @Test func verifiesRSASSAPSSAndSignaturesWithoutSignedAttributes() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let pss = try opensslSign(sampleContent, by: "alice", options: ["-md", "sha384", "-keyopt", "rsa_padding_mode:pss"], in: dir)
            let pssInfo = try CMSVerifier.verifyDetached(signature: pss, content: sampleContent, trusted: [alice.certificate])
            #expect(pssInfo.signatureAlgorithm == "rsassa-pss")
            #expect(pssInfo.digest == .sha384)

            // -noattr: the signature covers the content digest directly.
            let bare = try opensslSign(sampleContent, by: "alice", options: ["-md", "sha512", "-noattr"], in: dir)
            let bareInfo = try CMSVerifier.verifyDetached(signature: bare, content: sampleContent, trusted: [alice.certificate])
            #expect(bareInfo.digest == .sha512)
            #expect(bareInfo.contentDigest == nil, "no signed attributes, no messageDigest")
            let tampered = #expect(throws: CryptoError.self) {
                try CMSVerifier.verifyDetached(signature: bare, content: sampleContent.dropLast(), trusted: [alice.certificate])
            }
            #expect(tampered?.code == "cms-verify-digest")
        }
    }

    @Test(arguments: ["digest", "max"], [DigestAlgorithm.sha1, .sha256, .sha512])
    func acceptsPSSWithoutParameters(saltLength: String, digest: DigestAlgorithm) throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            let signature = try opensslSign(sampleContent, by: "alice", options: [
                "-md", digest.rawValue, "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:\(saltLength)",
            ], in: dir)
            // Drop the RSASSA-PSS-params, as pyas2lib writes its PSS signatures.
            var tree = try DERNode(der: signature)
            let signerInfo = [1, 0, tree[1, 0].children.count - 1, 0]
            let algorithmIndex = tree[signerInfo].children.lastIndex { $0.tag == 0x04 }! - 1
            #expect(tree[signerInfo + [algorithmIndex]].children.count == 2)
            tree[signerInfo + [algorithmIndex]].children.removeLast()

            let info = try CMSVerifier.verifyDetached(signature: tree.der, content: sampleContent, trusted: [alice.certificate])
            #expect(info.signatureAlgorithm == "rsassa-pss")
            #expect(info.digest == digest)
            let tampered = #expect(throws: CryptoError.self) {
                try CMSVerifier.verifyDetached(signature: tree.der, content: sampleContent + Data([0]), trusted: [alice.certificate])
            }
            #expect(tampered?.code == "cms-verify-digest")
        }
    }

    @Test func verifiesECDSASignatures() throws {
        try withTemporaryDirectory { dir in
            try mustRunOpenSSL([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ec.key.pem",
                "-out", "ec.cert.pem", "-days", "2", "-subj", "/CN=EC partner",
            ], in: dir)
            let signature = try opensslSign(sampleContent, by: "ec", options: ["-md", "sha256"], in: dir)
            let cert = try Certificate(pemFile: dir.file("ec.cert.pem").path)
            let info = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [cert])
            #expect(info.signatureAlgorithm == "ecdsa")
            #expect(info.digest == .sha256)
        }
    }

    @Test func acceptsBERSignatures() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            // OpenSSL's streaming output uses indefinite lengths.
            let streamed = try opensslSign(sampleContent, by: "alice", options: ["-stream"], in: dir)
            #expect(streamed[1] == 0x80)
            #expect(try CMSVerifier.verifyDetached(signature: streamed, content: sampleContent, trusted: [alice.certificate]).digest == .sha256)

            let der = try opensslSign(sampleContent, by: "alice", options: ["-md", "sha1"], in: dir)
            // BER outside the SignerInfos, whose signed attributes a sender must keep DER.
            var tree = try DERNode(der: der)
            tree[1, 0, tree[1, 0].children.count - 1].keepDER = true
            let ber = tree.ber(chunk: 64)
            #expect(ber.count > der.count)
            #expect(try CMSVerifier.verifyDetached(signature: ber, content: sampleContent, trusted: [alice.certificate]).digest == .sha1)
        }
    }

    @Test func failuresAreClassifiedByCode() throws {
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            func code(_ signature: Data, _ content: Data = sampleContent, trusted: [Certificate]? = nil) -> String? {
                (#expect(throws: CryptoError.self) {
                    try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: trusted ?? [alice.certificate])
                })?.code
            }
            let signature = try opensslSign(sampleContent, by: "alice", options: [], in: dir)

            // Tampered payload, or a canonicalisation difference (CRs stripped).
            var tampered = sampleContent
            tampered[tampered.count - 1] ^= 0x01
            #expect(code(signature, tampered) == "cms-verify-digest")
            #expect(code(signature, Data(sampleContent.filter { $0 != 0x0D })) == "cms-verify-digest")

            // Signed by someone else than the trusted partner: embedded certificate not trusted...
            #expect(code(signature, trusted: [bob.certificate]) == "cms-verify-signer")
            // ...or no certificate at all and none of ours matches.
            let bare = try opensslSign(sampleContent, by: "alice", options: ["-nocerts"], in: dir)
            #expect(code(bare, trusted: [bob.certificate]) == "cms-verify-signer")
            #expect(try CMSVerifier.verifyDetached(signature: bare, content: sampleContent, trusted: [alice.certificate]).digest == .sha256)

            // A broken signature value over the signed attributes.
            var broken = try DERNode(der: signature)
            let signerInfosIndex = broken[1, 0].children.count - 1
            let valueIndex = broken[1, 0, signerInfosIndex, 0].children.lastIndex { $0.tag == 0x04 }!
            broken[1, 0, signerInfosIndex, 0, valueIndex].content[10] ^= 0x01
            #expect(code(broken.der) == "cms-verify")

            #expect(code(Data()) == "cms-verify-format")
            #expect(code(Data("garbage".utf8)) == "cms-verify-format")
            #expect(code(signature.prefix(signature.count / 2)) == "cms-verify-format")
            #expect(code(try CMSCompression.compress(sampleContent)) == "cms-verify-format")
            #expect(code(try CMSEncryptor.encrypt(sampleContent, for: alice.certificate, cipher: "aes-128-cbc", oaep: false)) == "cms-verify-format")
            #expect(code(signature, trusted: []) == "cms-verify")
        }
    }

    @Test func expiredSignerCertificateIsRejected() throws {
        try withTemporaryDirectory { dir in
            // `openssl ca` is the one command of OpenSSL 3.0 that can back-date a certificate.
            try "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n"
                .write(to: dir.file("ca.cnf"), atomically: true, encoding: .utf8)
            try Data().write(to: dir.file("index.txt"))
            try "01\n".write(to: dir.file("serial"), atomically: true, encoding: .utf8)
            try mustRunOpenSSL(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "old.key.pem", "-out", "old.csr", "-subj", "/CN=Expired"], in: dir)
            try mustRunOpenSSL([
                "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "old.key.pem", "-in", "old.csr", "-out", "old.cert.pem",
                "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
            ], in: dir)
            let cert = try Certificate(pemFile: dir.file("old.cert.pem").path)
            #expect(cert.notAfter < Date())
            let signature = try opensslSign(sampleContent, by: "old", options: [], in: dir)
            let error = #expect(throws: CryptoError.self) {
                try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [cert])
            }
            #expect(error?.code == "cms-verify-signer")
            #expect(error?.message.contains("certificate has expired") == true, "\(error?.message ?? "")")
        }
    }

    @Test func pinnedLeafOrIssuingCAAreBothTrustAnchors() throws {
        try withTemporaryDirectory { dir in
            let (ca, leaf) = try makePartnerCAAndLeaf(in: dir)
            #expect(leaf.issuer == "CN=Partner CA")
            #expect(ca.issuer == ca.subject)
            try mustRunOpenSSL(["x509", "-in", "leaf.cert.pem", "-noout", "-serial", "-out", "serial.txt"], in: dir)
            let serial = try String(contentsOf: dir.file("serial.txt"), encoding: .utf8)
            #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines) == "serial=\(leaf.serialNumberHex.uppercased())")
            let signature = try opensslSign(sampleContent, by: "leaf", options: [], in: dir)

            // The partner's own certificate pinned, without its CA (a partial chain).
            let pinned = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [leaf])
            #expect(pinned.signer.fingerprintSHA256 == leaf.fingerprintSHA256)
            // Or the CA that issued it: the signer reported is the trusted anchor.
            let viaCA = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [alice.certificate, ca])
            #expect(viaCA.signer.fingerprintSHA256 == ca.fingerprintSHA256)
        }
    }

    @Test(arguments: DigestAlgorithm.allCases)
    func ourSignaturesVerifyWithOpenSSL(_ digest: DigestAlgorithm) throws {
        let signature = try CMSSigner(key: alice.key, certificate: alice.certificate).signDetached(sampleContent, digest: digest)
        let info = try CMSVerifier.verifyDetached(signature: signature, content: sampleContent, trusted: [alice.certificate])
        #expect(info.digest == digest)
        #expect(info.signatureAlgorithm == "rsa-pkcs1-v1_5")
        try withTemporaryDirectory { dir in
            try alice.write(to: dir, as: "alice")
            try signature.write(to: dir.file("sig.der"))
            try sampleContent.write(to: dir.file("content"))
            try mustRunOpenSSL([
                "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.der", "-content", "content",
                "-CAfile", "alice.cert.pem", "-purpose", "any", "-out", "/dev/null",
            ], in: dir)
            try mustRunOpenSSL(["cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der", "-out", "dump.txt"], in: dir)
            let dump = try String(contentsOf: dir.file("dump.txt"), encoding: .utf8)
            #expect(dump.contains("algorithm: \(digest.rawValue) "), "digestAlgorithm should be \(digest)")
            #expect(dump.contains("eContent: <ABSENT>"))
        }
    }
}
