import FluxCrypto
import Foundation
import Testing

@Suite struct KeyAndCertificateTests {
    @Test func generatedKeyAndSelfSignedCertificateRoundTrip() throws {
        let key = try PrivateKey.generateRSA()
        let cert = try Certificate.selfSigned(key: key, commonName: "Flux Test", organization: "Acme SAS", days: 30)

        #expect(cert.subject == "CN=Flux Test,O=Acme SAS")
        #expect(cert.notBefore <= Date())
        let days = cert.notAfter.timeIntervalSince(Date()) / 86_400
        #expect(days > 29.9 && days <= 30.01)
        #expect(cert.fingerprintSHA256.count == 64)
        #expect(cert.matches(key: key))

        let keyPEM = try key.pemData()
        #expect(String(decoding: keyPEM, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let reloadedKey = try PrivateKey(pem: keyPEM)
        #expect(try reloadedKey.pemData() == keyPEM)
        #expect(cert.matches(key: reloadedKey))

        let certPEM = try cert.pemData()
        #expect(String(decoding: certPEM, as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        let reloaded = try Certificate(pem: certPEM)
        #expect(reloaded.fingerprintSHA256 == cert.fingerprintSHA256)
        #expect(reloaded.subject == cert.subject)
        #expect(reloaded.notAfter == cert.notAfter)

        let other = try PrivateKey.generateRSA()
        #expect(!cert.matches(key: other))
    }

    @Test func generatedP256KeySignsReceiptsThatVerify() throws {
        let key = try PrivateKey.generateECP256()
        let cert = try Certificate.selfSigned(key: key, commonName: "receipts", organization: nil, days: 1)
        #expect(cert.matches(key: key))
        #expect(!cert.matches(key: try PrivateKey.generateECP256()))
        #expect(try PrivateKey(pem: key.pemData()).pemData() == key.pemData())
        let content = Data("<cdar/>".utf8)
        let signature = try CMSSigner(key: key, certificate: cert).signDetached(content)
        _ = try CMSVerifier.verifyDetached(signature: signature, content: content, trusted: [cert])
        #expect(throws: CryptoError.self) {
            try CMSVerifier.verifyDetached(signature: signature, content: Data("<cdar>".utf8), trusted: [cert])
        }
        try withTemporaryDirectory { dir in
            try cert.pemData().write(to: dir.appendingPathComponent("cert.pem"))
            let text = try openssl(["x509", "-in", "cert.pem", "-noout", "-text", "-out", "text.txt"], in: dir)
            #expect(text.status == 0, "\(text.stderr)")
            let dump = try String(contentsOf: dir.appendingPathComponent("text.txt"), encoding: .utf8)
            #expect(dump.contains("ecdsa-with-SHA256") && dump.contains("prime256v1"))
            // keyEncipherment is an RSA key-transport use; an EC certificate must not claim it
            #expect(dump.contains("Digital Signature, Non Repudiation\n"))
        }
    }

    @Test func selfSignedWithoutOrganizationHasExpectedExtensions() throws {
        let key = try PrivateKey.generateRSA()
        let cert = try Certificate.selfSigned(key: key, commonName: "gateway.example", organization: nil, days: 1)
        #expect(cert.subject == "CN=gateway.example")
        try withTemporaryDirectory { dir in
            try cert.pemData().write(to: dir.appendingPathComponent("cert.pem"))
            let text = try openssl(["x509", "-in", "cert.pem", "-noout", "-text", "-out", "text.txt"], in: dir)
            #expect(text.status == 0, "\(text.stderr)")
            let dump = try String(contentsOf: dir.appendingPathComponent("text.txt"), encoding: .utf8)
            #expect(dump.contains("Version: 3 (0x2)"))
            #expect(dump.contains("sha256WithRSAEncryption"))
            #expect(dump.contains("CA:FALSE"))
            #expect(dump.contains("Digital Signature, Non Repudiation, Key Encipherment"))
            #expect(dump.contains("E-mail Protection"))
            #expect(dump.contains("X509v3 Subject Key Identifier"))
            let fingerprint = try openssl(["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256", "-out", "fp.txt"], in: dir)
            #expect(fingerprint.status == 0)
            let fp = try String(contentsOf: dir.appendingPathComponent("fp.txt"), encoding: .utf8)
            let hex = fp.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").lowercased() }
            #expect(hex?.trimmingCharacters(in: .whitespacesAndNewlines) == cert.fingerprintSHA256)
        }
    }

    @Test func loadsCertificateMadeByOpenSSLReq() throws {
        try withTemporaryDirectory { dir in
            let made = try openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
                "-days", "10", "-subj", "/C=FR/O=Partner SA/CN=partner.example", "-sha256",
            ], in: dir)
            try #require(made.status == 0, "\(made.stderr)")
            let cert = try Certificate(pemFile: dir.appendingPathComponent("cert.pem").path)
            #expect(cert.subject == "CN=partner.example,O=Partner SA,C=FR")
            let key = try PrivateKey(pemFile: dir.appendingPathComponent("key.pem").path)
            #expect(cert.matches(key: key))
            #expect(cert.notAfter > Date().addingTimeInterval(9 * 86_400))
        }
    }

    @Test func loadAllReadsEveryCertificateInOrder() throws {
        let key = try PrivateKey.generateRSA()
        let first = try Certificate.selfSigned(key: key, commonName: "first", organization: nil, days: 1)
        let second = try Certificate.selfSigned(key: key, commonName: "second", organization: nil, days: 1)
        var bundle = Data("partner bundle, comments between blocks are fine\n".utf8)
        bundle.append(try first.pemData())
        bundle.append(Data("\n".utf8))
        bundle.append(try second.pemData())
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("bundle.pem").path
            try bundle.write(to: URL(fileURLWithPath: path))
            let all = try Certificate.loadAll(pemFile: path)
            #expect(all.map(\.subject) == ["CN=first", "CN=second"])
            #expect(all.map(\.fingerprintSHA256) == [first.fingerprintSHA256, second.fingerprintSHA256])
        }
    }

    @Test func loadAllRejectsEmptyAndDamagedBundles() throws {
        let error = #expect(throws: CryptoError.self) { try Certificate.loadAll(pem: Data("nothing here".utf8)) }
        #expect(error?.code == "cert-load")

        let key = try PrivateKey.generateRSA()
        var bundle = try Certificate.selfSigned(key: key, commonName: "ok", organization: nil, days: 1).pemData()
        bundle.append(Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8))
        let damaged = #expect(throws: CryptoError.self) { try Certificate.loadAll(pem: bundle) }
        #expect(damaged?.code == "cert-load")
    }

    @Test func garbagePEMGivesCertLoadError() {
        let error = #expect(throws: CryptoError.self) {
            try Certificate(pem: Data("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n".utf8))
        }
        #expect(error?.code == "cert-load")
        #expect(error?.message.contains("routines") == true, "message should carry OpenSSL's reason: \(error?.message ?? "")")

        let empty = #expect(throws: CryptoError.self) { try Certificate(pem: Data()) }
        #expect(empty?.code == "cert-load")

        let missing = #expect(throws: CryptoError.self) { try Certificate(pemFile: "/nonexistent/flux/cert.pem") }
        #expect(missing?.code == "cert-load")
    }

    @Test func badKeysGiveKeyLoadError() throws {
        let garbage = #expect(throws: CryptoError.self) { try PrivateKey(pem: Data("garbage".utf8)) }
        #expect(garbage?.code == "key-load")

        try withTemporaryDirectory { dir in
            let made = try openssl([
                "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-aes-256-cbc", "-pass", "pass:secret", "-out", "enc.pem",
            ], in: dir)
            try #require(made.status == 0, "\(made.stderr)")
            // Must fail rather than prompt for a passphrase on the terminal.
            let encrypted = #expect(throws: CryptoError.self) {
                try PrivateKey(pemFile: dir.appendingPathComponent("enc.pem").path)
            }
            #expect(encrypted?.code == "key-load")
        }

        let small = #expect(throws: CryptoError.self) { try PrivateKey.generateRSA(bits: 1024) }
        #expect(small?.code == "keygen")
    }

    @Test func keyFilesWriteAtomicallyWithMode() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("gateway.key.pem").path
            try KeyFiles.writePEM(Data("first".utf8), to: path, mode: 0o600)
            try KeyFiles.writePEM(Data("second".utf8), to: path, mode: 0o600)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("second".utf8))
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            let certPath = dir.appendingPathComponent("gateway.cert.pem").path
            try KeyFiles.writePEM(Data("cert".utf8), to: certPath, mode: 0o644)
            let certAttributes = try FileManager.default.attributesOfItem(atPath: certPath)
            #expect((certAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o644)

            // No temporary files left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["gateway.cert.pem", "gateway.key.pem"])

            let failed = #expect(throws: CryptoError.self) {
                try KeyFiles.writePEM(Data(), to: dir.appendingPathComponent("missing/dir/x.pem").path, mode: 0o600)
            }
            #expect(failed?.code == "file-write")
        }
    }
}
