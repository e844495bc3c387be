import Foundation
import Testing

/// The AS2 HTTPS listener's TLS policy, checked with the `openssl s_client` command: TLS 1.0 and
/// 1.1 refused, weak TLS 1.2 suites (RSA key transport, CBC, 3DES) refused, ECDHE + AEAD and
/// TLS 1.3 accepted; a renewed certificate is served after SIGHUP, a broken one is refused and
/// the current one kept.
@Suite(.serialized)
struct TLSPolicyTests {
    static func makeCert(_ dir: URL, cn: String) throws {
        let r = try GatewayHarness.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=\(cn)",
                                                            "-addext", "subjectAltName=IP:127.0.0.1",
                                                            "-keyout", dir.appendingPathComponent("tls.key.pem").path,
                                                            "-out", dir.appendingPathComponent("tls.cert.pem").path])
        guard r.status == 0 else { throw HarnessError(message: "openssl req: \(r.out)") }
    }

    /// One handshake; `options` go to s_client. Seclevel 0 on our side, so that a refusal is
    /// the server's, not our client's.
    static func handshake(_ port: Int, _ options: String) throws -> (ok: Bool, out: String) {
        let r = try GatewayHarness.run("/bin/sh", ["-c", "timeout 15 openssl s_client -brief -connect 127.0.0.1:\(port) \(options) </dev/null 2>&1"])
        return (r.status == 0 && r.out.contains("Ciphersuite"), r.out)
    }

    @Test func oldProtocolsAndWeakCiphersAreRefusedAndTheCertificateReloadsOnSIGHUP() throws {
        let g = try GatewayHarness(as2: true, as2Extra: "tls_cert = \"tls/tls.cert.pem\"\ntls_key = \"tls/tls.key.pem\"")
        let tls = g.state.appendingPathComponent("tls")
        try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
        try Self.makeCert(tls, cn: "first.example")
        try g.start()
        let port = g.as2Port
        let refused: [(String, String)] = [
            ("TLS 1.0", "-tls1 -cipher DEFAULT@SECLEVEL=0"),
            ("TLS 1.1", "-tls1_1 -cipher DEFAULT@SECLEVEL=0"),
            ("TLS 1.2 RSA key transport (AES128-SHA)", "-tls1_2 -cipher AES128-SHA@SECLEVEL=0"),
            ("TLS 1.2 RSA key transport GCM (AES256-GCM-SHA384)", "-tls1_2 -cipher AES256-GCM-SHA384@SECLEVEL=0"),
            ("TLS 1.2 ECDHE with CBC (ECDHE-RSA-AES128-SHA)", "-tls1_2 -cipher ECDHE-RSA-AES128-SHA@SECLEVEL=0"),
            ("TLS 1.2 3DES (DES-CBC3-SHA)", "-tls1_2 -cipher DES-CBC3-SHA@SECLEVEL=0"),
        ]
        for (name, options) in refused {
            let r = try Self.handshake(port, options)
            #expect(!r.ok, "\(name) must be refused: \(r.out.suffix(400))")
        }
        let accepted: [(String, String)] = [
            ("TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256", "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"),
            ("TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305", "-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305"),
            ("TLS 1.3", "-tls1_3"),
        ]
        for (name, options) in accepted {
            let r = try Self.handshake(port, options)
            #expect(r.ok, "\(name) must be accepted: \(r.out.suffix(400))")
            #expect(r.out.contains("first.example"), "\(r.out.suffix(400))")
        }

        // Renewal: new files in place, SIGHUP, new connections get the new certificate.
        try Self.makeCert(tls, cn: "renewed.example")
        g.signal(SIGHUP)
        try g.waitUntil(timeout: 15, "the TLS certificate to be reloaded") {
            String(decoding: (try? Data(contentsOf: g.logFile)) ?? Data(), as: UTF8.self).contains("AS2 TLS certificate reloaded")
        }
        let renewed = try Self.handshake(port, "-tls1_3")
        #expect(renewed.ok && renewed.out.contains("renewed.example"), "\(renewed.out.suffix(400))")

        // A broken certificate: the reload is refused and the renewed one stays in service.
        try "not a certificate\n".write(to: tls.appendingPathComponent("tls.cert.pem"), atomically: true, encoding: .utf8)
        g.signal(SIGHUP)
        try g.waitUntil(timeout: 15, "the reload to be refused") {
            String(decoding: (try? Data(contentsOf: g.logFile)) ?? Data(), as: UTF8.self).contains("reload refused")
        }
        let kept = try Self.handshake(port, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256")
        #expect(kept.ok && kept.out.contains("renewed.example"), "\(kept.out.suffix(400))")
        #expect(g.stop() == 0)
    }
}
