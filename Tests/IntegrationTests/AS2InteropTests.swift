import Foundation
import GRDB
import Testing

/// AS2 against independent implementations over loopback: pyas2lib as the sending partner
/// (every combination it offers) and `openssl cms` for what it cannot build (AES-GCM, OAEP,
/// compression after signing, a missing Content-Transfer-Encoding).
@Suite(.serialized)
struct AS2InteropTests {
    static func number(_ tag: String) -> String { "AS2-\(tag)-\(UUID().uuidString.prefix(8))" }

    /// What every positive sync MDN must satisfy, checked by the peer itself.
    static func expectVerified(_ r: [String: Any], signed: Bool, micalg: String? = nil, pyas2lib: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        let name = r["name"] as? String ?? "?"
        #expect(r["http_status"] as? Int == 200, "\(name): HTTP \(r["http_status"] ?? "nil") \(r["response_body"] ?? "")", sourceLocation: sourceLocation)
        guard let mdn = r["mdn"] as? [String: Any] else {
            Issue.record("\(name): no MDN: \(r["error"] ?? r["response_body"] ?? "")", sourceLocation: sourceLocation); return
        }
        #expect(mdn["disposition_type"] as? String == "processed", "\(name): \(mdn)", sourceLocation: sourceLocation)
        #expect((mdn["disposition_modifier"] as? String ?? "").isEmpty, "\(name): \(mdn)", sourceLocation: sourceLocation)
        #expect(mdn["mic_ok"] as? Bool == true, "\(name): MIC \(mdn["mic"] ?? "none") vs expected \(r["mic_expected"] ?? "")", sourceLocation: sourceLocation)
        // (nil when nothing was asked for and nothing signed: any algorithm is right then)
        #expect(mdn["mic_alg_ok"] as? Bool != false, "\(name): MIC algorithm \(mdn["mic_alg"] ?? "none")", sourceLocation: sourceLocation)
        #expect(mdn["original_message_id_ok"] as? Bool == true, "\(name)", sourceLocation: sourceLocation)
        #expect(mdn["signed"] as? Bool == signed, "\(name): signed MDN expected \(signed)", sourceLocation: sourceLocation)
        if signed { #expect(mdn["signature_ok"] as? Bool == true, "\(name): MDN signature: \(mdn)", sourceLocation: sourceLocation) }
        if let m = micalg { #expect(mdn["mic_alg"] as? String == m, "\(name): the MIC algorithm must be echoed as spelled", sourceLocation: sourceLocation) }
        if pyas2lib {
            #expect(mdn["status"] as? String == "processed", "\(name): pyas2lib Mdn.parse says \(mdn["status"] ?? "") \(mdn["detailed_status"] ?? "")",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func pyas2libMatrixAllGetVerifiedMDNs() throws {
        let g = try GatewayHarness(as2: true)
        try g.start()
        var cases: [(name: String, args: [String])] = []
        for sign in ["none", "sha1", "sha224", "sha256", "sha384", "sha512"] {
            for enc in ["none", "tripledes_192_cbc", "aes_128_cbc", "aes_192_cbc", "aes_256_cbc"] {
                // micalg = the signing digest, as a pyas2lib partner configures it (pyas2lib checks
                // the MIC with its signing digest whatever it asked for: see the micalg cases)
                cases.append(("\(sign)+\(enc)", g.peerArgs() + ["--sign", sign, "--encrypt", enc, "--signed-mdn", "--mdn-micalg", sign == "none" ? "sha256" : sign,
                                                                  "--invoice-number", Self.number("m")]))
            }
        }
        for (sign, enc) in [("sha256", "aes_256_cbc"), ("none", "none"), ("sha1", "none"), ("none", "aes_128_cbc")] {
            cases.append(("compressed \(sign)+\(enc)", g.peerArgs() + ["--sign", sign, "--encrypt", enc, "--compress", "--signed-mdn",
                                                                       "--mdn-micalg", sign == "none" ? "sha256" : sign, "--invoice-number", Self.number("c")]))
        }
        for (sign, enc) in [("sha256", "aes_256_cbc"), ("none", "none")] {
            cases.append(("unsigned MDN \(sign)+\(enc)", g.peerArgs() + ["--sign", sign, "--encrypt", enc, "--invoice-number", Self.number("u")]))
        }
        for alg in ["sha-256", "sha1", "sha-512", "sha384"] {
            cases.append(("micalg \(alg)", g.peerArgs() + ["--sign", "sha1", "--encrypt", "aes_256_cbc", "--mdn-micalg", alg,
                                                            "--invoice-number", Self.number("a")]))
        }
        let results = try g.batch(cases)
        #expect(results.count == cases.count)
        for r in results {
            let name = r["name"] as? String ?? ""
            let unsignedMDN = name.hasPrefix("unsigned MDN")
            let sign = name.split(separator: " ").last.map { String($0.split(separator: "+")[0]) } ?? ""
            let micalg = name.hasPrefix("micalg ") ? String(name.dropFirst(7)) : (unsignedMDN ? nil : (sign == "none" ? "sha256" : sign))
            // pyas2lib's own Mdn.parse compares our MIC (in the algorithm it asked for) with one
            // it computed with its signing digest: it only agrees when both are the same.
            Self.expectVerified(r, signed: !unsignedMDN, micalg: micalg, pyas2lib: !name.hasPrefix("micalg "))
        }
        // every message was taken in: one accepted invoice each, journalled with its AS2 ids
        let db = try g.db()
        let accepted = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM invoices WHERE status = 'accepted'") }
        #expect(accepted == cases.count)
        let as2Rows = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM as2_messages WHERE disposition = 'processed'") }
        #expect(as2Rows == cases.count)
        let tail = try g.cli(["journal", "tail", "--company", "acme"])
        #expect(tail.out.contains("as2-message"), "\(tail.out.prefix(2000))")
        #expect(tail.out.contains("mdn"))
        #expect(try g.cli(["journal", "verify"]).status == 0)
        #expect(g.stop() == 0)
    }

    @Test func opensslBuiltGCMAndOAEPAndCompressAfterSigning() throws {
        let g = try GatewayHarness(as2: true)
        try g.start()
        var cases: [(name: String, args: [String])] = []
        for enc in ["aes-128-gcm", "aes-256-gcm", "aes-256-cbc", "des-ede3-cbc"] {
            for oaep in [false, true] {
                cases.append(("\(enc)\(oaep ? "+oaep" : "")", g.peerArgs() + ["--openssl-encrypt", enc, "--sign", "sha256", "--mdn-micalg", "sha-256",
                                                                              "--invoice-number", Self.number("g")] + (oaep ? ["--oaep"] : [])))
            }
        }
        cases.append(("compress after signing", g.peerArgs() + ["--openssl-encrypt", "aes-256-gcm", "--sign", "sha512", "--compress",
                                                                 "--compress-after-sign", "--mdn-micalg", "sha-512", "--invoice-number", Self.number("x")]))
        cases.append(("compress before signing", g.peerArgs() + ["--openssl-encrypt", "aes-128-cbc", "--sign", "sha256", "--compress",
                                                                  "--mdn-micalg", "sha-256", "--invoice-number", Self.number("y")]))
        // IBM Sterling / OpenText: no Content-Transfer-Encoding at all means binary (RFC 4130 §5.2.1).
        cases.append(("no CTE", g.peerArgs() + ["--openssl-encrypt", "aes-256-cbc", "--sign", "sha256", "--mdn-micalg", "sha-256",
                                                 "--entity-headers", "Content-Type: application/xml", "--invoice-number", Self.number("n")]))
        cases.append(("GCM, unsigned", g.peerArgs() + ["--openssl-encrypt", "aes-256-gcm", "--sign", "none", "--signed-mdn", "--mdn-micalg", "sha-256",
                                                        "--invoice-number", Self.number("z")]))
        let results = try g.batch(cases)
        for r in results {
            let name = r["name"] as? String ?? ""
            Self.expectVerified(r, signed: true, micalg: name.contains("sha512") || name == "compress after signing" ? "sha-512" : "sha-256", pyas2lib: false)
        }
        let ciphers = try g.db().read { try String.fetchAll($0, sql: "SELECT security FROM as2_messages") }
        #expect(ciphers.contains { $0.contains("aes-128-gcm (authEnveloped, rsaes-oaep)") }, "\(ciphers)")
        #expect(ciphers.contains { $0.contains("compressed after signing") }, "\(ciphers)")
        #expect(g.stop() == 0)
    }

    @Test func errorsGetSpecificDispositionsOrStatuses() throws {
        let g = try GatewayHarness(as2: true)
        try g.start()
        func disposition(_ r: [String: Any]) -> String {
            guard let m = r["mdn"] as? [String: Any], let d = m["disposition"] as? String else {
                return "HTTP \(r["http_status"] ?? "?"): \(r["response_body"] ?? "")"
            }
            return d.split(separator: ";", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? d
        }
        // signed by a key that is not ACME's
        var r = try g.send(g.peerArgs(key: "stranger") + ["--sign", "sha256", "--signed-mdn", "--invoice-number", Self.number("e")])
        #expect(r["http_status"] as? Int == 200)
        #expect(disposition(r).lowercased() == "processed/error: authentication-failed", "\(disposition(r))")
        // encrypted for another certificate
        r = try g.send(g.peerArgs(serverCert: g.partnerCerts.appendingPathComponent("stranger.cert.pem").path)
                       + ["--encrypt", "aes_256_cbc", "--signed-mdn", "--invoice-number", Self.number("e")])
        #expect(disposition(r).lowercased() == "processed/error: decryption-failed", "\(disposition(r))")
        // GLOBEX must sign and encrypt with modern algorithms
        r = try g.send(g.peerArgs(from: "GLOBEX", key: "globex") + ["--sign", "none", "--encrypt", "aes_256_cbc", "--signed-mdn"])
        #expect(disposition(r).lowercased() == "processed/error: insufficient-message-security", "\(disposition(r))")
        r = try g.send(g.peerArgs(from: "GLOBEX", key: "globex") + ["--sign", "sha256", "--encrypt", "tripledes_192_cbc", "--signed-mdn"])
        #expect(disposition(r).lowercased() == "processed/error: insufficient-message-security", "\(disposition(r))")
        r = try g.send(g.peerArgs(from: "GLOBEX", key: "globex") + ["--sign", "sha1", "--encrypt", "aes_256_cbc", "--signed-mdn"])
        #expect(disposition(r).lowercased() == "processed/error: insufficient-message-security", "sha1 is not allowed for GLOBEX: \(disposition(r))")
        // a required MIC algorithm we do not have
        r = try g.send(g.peerArgs() + ["--sign", "sha256", "--encrypt", "none", "--header",
                                       "Disposition-Notification-Options: signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md2"])
        #expect(disposition(r).lowercased() == "failed/failure: unsupported mic-algorithms", "\(disposition(r))")
        // an async URL not on the allow-list: answered synchronously, nothing processed
        r = try g.send(g.peerArgs() + ["--mdn", "async", "--mdn-url", "http://127.0.0.1:1/evil", "--signed-mdn"])
        #expect(r["http_status"] as? Int == 200)
        // unknown partner: not attributable, an HTTP status
        r = try g.send(g.peerArgs(from: "NOBODY", key: "stranger") + ["--signed-mdn"])
        #expect(r["http_status"] as? Int == 403, "\(r)")
        #expect((r["response_body"] as? String ?? "").contains("unknown AS2-From"))

        // tampered in transit: a signed, unencrypted message with one byte changed
        let number = Self.number("t")
        var raw = try g.buildRequest(g.peerArgs() + ["--sign", "sha256", "--encrypt", "none", "--signed-mdn", "--invoice-number", number])
        let at = try #require(raw.range(of: Data(number.utf8)))
        raw[at.lowerBound] = UInt8(ascii: "B")
        let tampered = try g.rawHTTP(raw)
        #expect(tampered.status == 200)
        let t = try g.mdn(tampered)
        #expect(t.fields.disposition.lowercased().hasSuffix("processed/error: integrity-check-failed"), "\(t.fields.disposition)")
        #expect(t.signatureOK, "error MDNs are signed too")

        // garbage MIME from a known partner: an error MDN, not a 500
        let garbage = Data("""
            POST /as2 HTTP/1.1\r\nHost: x\r\nAS2-From: ACME\r\nAS2-To: GATEWAY\r\nMessage-ID: <garbage-1@acme>\r\n\
            Content-Type: multipart/signed; boundary="zz"\r\nDisposition-Notification-To: ops@acme\r\nContent-Length: 20\r\nConnection: close\r\n\r\n\
            --zz\r\nnot a mime part
            """.utf8)
        let gr = try g.rawHTTP(garbage)
        #expect(gr.status == 200)
        #expect(try g.mdn(gr).fields.disposition.contains("processed/error: integrity-check-failed"))

        // over the body limit (2 MiB here): 413 before the body is read
        let huge = Data("POST /as2 HTTP/1.1\r\nAS2-From: ACME\r\nAS2-To: GATEWAY\r\nMessage-ID: <big@acme>\r\nContent-Type: application/xml\r\nContent-Length: 3000000\r\n\r\n".utf8)
        #expect(try g.rawHTTP(huge).status == 413)
        // not AS2 at all
        #expect(try g.rawHTTP(Data("POST /as2 HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n".utf8)).status == 400)
        #expect(try g.rawHTTP(Data("GET /as2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8)).status == 405)
        #expect(try g.rawHTTP(Data("POST /elsewhere HTTP/1.1\r\nContent-Length: 0\r\n\r\n".utf8)).status == 404)
        #expect(try g.rawHTTP(Data("POST /as2 HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)).status == 400)

        // every attributed failure is in the journal with its rule id
        let tail = try g.cli(["journal", "tail", "--company", "acme"])
        for code in ["AS2-AUTHENTICATION-FAILED", "AS2-DECRYPTION-FAILED", "AS2-INTEGRITY-CHECK-FAILED", "AS2-FAILED"] {
            #expect(tail.out.contains(code), "journal lacks \(code)")
        }
        #expect(try g.cli(["journal", "tail", "--company", "globex"]).out.contains("AS2-INSUFFICIENT-MESSAGE-SECURITY"))
        let accepted = try g.db().read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM invoices") }
        #expect(accepted == 0, "nothing that failed may be taken in")
        #expect(g.stop() == 0)
    }

    @Test func resendOfTheSameMessageIDGetsTheSameMDNAndIsNotEnqueuedTwice() throws {
        let g = try GatewayHarness(as2: true)
        try g.start()
        let number = Self.number("d")
        let raw = try g.buildRequest(g.peerArgs() + ["--sign", "sha256", "--encrypt", "aes_256_cbc", "--signed-mdn", "--invoice-number", number,
                                                      "--message-id", "<resend-1@acme.test>"])
        let first = try g.rawHTTP(raw)
        let second = try g.rawHTTP(raw)
        #expect(first.status == 200 && second.status == 200)
        #expect(first.body == second.body, "the stored MDN is returned byte for byte")
        #expect(try g.mdn(first).fields.disposition.hasSuffix("processed"))
        let db = try g.db()
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM invoices WHERE number = ?", arguments: [number]) } == 1)
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM as2_messages WHERE duplicate_of IS NOT NULL") } == 1)
        #expect(try g.cli(["journal", "tail", "--company", "acme"]).out.contains("duplicate"))
        // a failed message may be resent and processed: only positive answers are deduplicated
        let failing = try g.buildRequest(g.peerArgs(key: "stranger") + ["--sign", "sha256", "--encrypt", "none", "--signed-mdn",
                                                                          "--message-id", "<retry-1@acme.test>", "--invoice-number", Self.number("r")])
        #expect(try g.mdn(try g.rawHTTP(failing)).fields.disposition.contains("authentication-failed"))
        let fixed = try g.buildRequest(g.peerArgs() + ["--sign", "sha256", "--encrypt", "none", "--signed-mdn",
                                                        "--message-id", "<retry-1@acme.test>", "--invoice-number", Self.number("r")])
        #expect(try g.mdn(try g.rawHTTP(fixed)).fields.disposition.hasSuffix("processed"))
        #expect(g.stop() == 0)
    }

    @Test func asyncMDNIsDeliveredRetriedAndSurvivesARestart() throws {
        let g = try GatewayHarness(as2: true, as2Extra: "async_mdn_max_retry_delay = \"500ms\"\nasync_mdn_attempts = 100")
        try g.start()
        let mdnDir = g.root.appendingPathComponent("mdns")
        // The receiver is down at first: the gateway must keep the MDN and retry.
        let r = try g.send(g.peerArgs() + ["--sign", "sha256", "--encrypt", "aes_256_cbc", "--mdn", "async", "--signed-mdn", "--mdn-micalg", "sha256",
                                           "--mdn-url", "http://127.0.0.1:\(g.mdnPort)/mdn", "--state-dir", mdnDir.path, "--invoice-number", Self.number("s")])
        #expect(r["http_status"] as? Int == 200)
        let db = try g.db()
        try g.waitUntil(timeout: 20, "a failed async MDN attempt") {
            (try db.read { try Int.fetchOne($0, sql: "SELECT attempts FROM mdn_outbox") } ?? 0) >= 1
        }
        // restart the gateway, then start the receiver
        #expect(g.stop() == 0)
        try g.start()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: GatewayHarness.python)
        server.arguments = [GatewayHarness.as2peer, "mdn-server", "--port", "\(g.mdnPort)", "--out", mdnDir.path, "--max-seconds", "60"]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        // SIGKILL: a child of the test runner may start with SIGTERM blocked (seen here), and
        // this receiver keeps nothing that needs a clean exit.
        defer { kill(server.processIdentifier, SIGKILL); server.waitUntilExit() }
        let verdict = mdnDir.appendingPathComponent("mdn-0001.json")
        try g.waitUntil(timeout: 30, "the async MDN to arrive") { FileManager.default.fileExists(atPath: verdict.path) }
        Thread.sleep(forTimeInterval: 0.2)
        let v = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: verdict)) as? [String: Any])
        #expect(v["status"] as? String == "processed", "\(v)")
        #expect(v["mic_ok"] as? Bool == true, "\(v)")
        #expect(v["signature_ok"] as? Bool == true, "\(v)")
        try g.waitUntil(timeout: 10, "the delivery to be journalled") {
            try g.cli(["journal", "tail", "--company", "acme"]).out.contains("async MDN delivered")
        }
        #expect(try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM mdn_outbox WHERE delivered_at IS NOT NULL") } == 1)
        #expect(g.stop() == 0)
    }

    @Test func chunkedBodyWithExpectContinueAndHTTPS() throws {
        // TLS: the gateway's own evaluation certificate serves HTTPS too.
        let g = try GatewayHarness(as2: true, as2Extra: "tls_cert = \"keys/gateway.cert.pem\"\ntls_key = \"keys/gateway.key.pem\"")
        // the identity is generated on first start; create it first so check-config finds the files
        try FileManager.default.createDirectory(at: g.state.appendingPathComponent("keys"), withIntermediateDirectories: true)
        let keys = g.state.appendingPathComponent("keys")
        let gen = try GatewayHarness.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=127.0.0.1",
                                                              "-addext", "subjectAltName=IP:127.0.0.1",
                                                              "-keyout", keys.appendingPathComponent("gateway.key.pem").path,
                                                              "-out", keys.appendingPathComponent("gateway.cert.pem").path])
        #expect(gen.status == 0)
        try g.start()
        let httpsArgs = g.peerArgs().map { $0 == g.as2URL ? "https://127.0.0.1:\(g.as2Port)/as2" : $0 }
        let r = try g.send(httpsArgs + ["--cafile", g.cert, "--sign", "sha256", "--encrypt", "aes_256_cbc", "--signed-mdn", "--mdn-micalg", "sha256",
                                        "--invoice-number", Self.number("h")])
        Self.expectVerified(r, signed: true, micalg: "sha256")
        // TLS 1.1 is refused
        // (seclevel 0 so that it is the server, not our own client, that says no)
        let old = try GatewayHarness.run("/bin/sh", ["-c", "timeout 10 openssl s_client -connect 127.0.0.1:\(g.as2Port) -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null"])
        #expect(old.status != 0, "\(old.out.suffix(500))")
        let modern = try GatewayHarness.run("/bin/sh", ["-c", "timeout 10 openssl s_client -connect 127.0.0.1:\(g.as2Port) -tls1_2 </dev/null"])
        #expect(modern.out.contains("TLSv1.2"), "\(modern.out.suffix(500))")
        // curl: chunked upload with Expect: 100-continue
        let body = g.root.appendingPathComponent("plain.xml")
        try GatewayHarness.invoice(number: Self.number("k")).write(to: body)
        let out = g.root.appendingPathComponent("mdn.out")
        let curl = try GatewayHarness.run("/usr/bin/curl", ["-s", "--cacert", g.cert, "-o", out.path, "-w", "%{http_code}", "-X", "POST",
                                                           "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                                                           "-H", "AS2-From: ACME", "-H", "AS2-To: GATEWAY", "-H", "Message-ID: <chunked-1@acme>",
                                                           "-H", "Content-Type: application/xml", "-H", "Disposition-Notification-To: ops@acme",
                                                           "--data-binary", "@\(body.path)", "https://127.0.0.1:\(g.as2Port)/as2"])
        #expect(curl.out == "200", "\(curl.out)")
        let mdnText = try String(contentsOf: out, encoding: .utf8)
        #expect(mdnText.contains("Disposition: automatic-action/MDN-sent-automatically; processed"), "\(mdnText)")
        #expect(g.stop() == 0)
    }
}
