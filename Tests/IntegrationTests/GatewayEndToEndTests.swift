import Foundation
import GRDB
import Testing

/// End to end over a real running daemon: deposits in, receipts, journal, batches and queue out.
@Suite(.serialized)
struct GatewayEndToEndTests {
    @Test func validDepositGetsSignedOfficialReceiptAndJournal() throws {
        let g = try GatewayHarness()
        try g.start()
        let sample = GatewayHarness.corpus.appendingPathComponent("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")
        try g.deposit(try Data(contentsOf: sample), name: "FR-CII.xml")
        let receipts = try g.waitForReceipts("FR-CII.xml.", count: 2)
        for r in receipts { #expect(try g.opensslVerify(r), "openssl cms -verify must accept \(r.lastPathComponent)") }
        let flux = try String(contentsOf: receipts.first { !$0.lastPathComponent.contains("-001") }!, encoding: .utf8)
        let invoice = try String(contentsOf: receipts.first { $0.lastPathComponent.contains("-001") }!, encoding: .utf8)
        #expect(flux.contains("<ram:ProcessConditionCode>500</ram:ProcessConditionCode>"))
        #expect(invoice.contains("<ram:ProcessConditionCode>200</ram:ProcessConditionCode>"))
        #expect(invoice.contains("FA-2026-000123"))
        let oracle = try GatewayHarness.cdarOracle(receipts)
        #expect(oracle.ok, "CDAR oracle: \(oracle.out)")
        // the original left the drop zone only after commit, and nothing is left claimed
        #expect(try FileManager.default.contentsOfDirectory(atPath: g.inbox().path).isEmpty)
        let verify = try g.cli(["journal", "verify"])
        #expect(verify.status == 0, "\(verify.out)")
        let tail = try g.cli(["journal", "tail", "--company", "acme"])
        #expect(tail.out.contains("invoice=FA-2026-000123"))
        #expect(tail.out.contains("received dropzone flux accepted FR-CII.xml"))
        let csv = try g.cli(["journal", "export", "--company", "acme", "--format", "csv"])
        #expect(csv.out.split(separator: "\n").count == 5)  // header + flux + invoice + 2 receipts
        #expect(g.stop() == 0, "SIGTERM must drain and exit 0")
        #expect(!FileManager.default.fileExists(atPath: g.state.appendingPathComponent("gateway.sqlite-wal").path),
                "a clean stop closes the database: the WAL is checkpointed into it and removed")
        // So does a command that reads the database while the daemon is stopped.
        #expect(try g.cli(["journal", "verify"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: g.state.appendingPathComponent("gateway.sqlite-wal").path),
                "the command line closes the database too")
    }

    @Test func invalidAndMixedDepositsAreAnsweredSpecifically() throws {
        let g = try GatewayHarness()
        try g.start()
        // not well-formed: the flux is irrecevable
        try g.deposit(try Data(contentsOf: GatewayHarness.corpus.appendingPathComponent("negative/invoices/NEG-01_malformed-xml_CII.xml")), name: "broken.xml")
        let refused = try g.waitForReceipts("broken.xml.", count: 1)
        let text = try String(contentsOf: refused[0], encoding: .utf8)
        #expect(text.contains("<ram:ProcessConditionCode>501</ram:ProcessConditionCode>"))
        #expect(text.contains("IRR_SYNTAX"))
        // a mixed archive: one good invoice, one missing its number (BR-02)
        let dir = g.root.appendingPathComponent("mixed")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try GatewayHarness.invoice(number: "MIX-1").write(to: dir.appendingPathComponent("good.xml"))
        try FileManager.default.copyItem(at: GatewayHarness.corpus.appendingPathComponent("negative/invoices/NEG-02_missing-BT1_CII.xml"),
                                         to: dir.appendingPathComponent("bad.xml"))
        let tgz = g.root.appendingPathComponent("mixed.tar.gz")
        #expect(try GatewayHarness.run("/usr/bin/tar", ["-czf", tgz.path, "-C", dir.path, "good.xml", "bad.xml"]).status == 0)
        try g.deposit(try Data(contentsOf: tgz), name: "mixed.tar.gz")
        let docs = try g.waitForReceipts("mixed.tar.gz.", count: 3)
        let all = try docs.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(all.contains("<ram:ProcessConditionCode>500</ram:ProcessConditionCode>"))
        #expect(all.contains("<ram:ProcessConditionCode>200</ram:ProcessConditionCode>"))
        #expect(all.contains("<ram:ProcessConditionCode>213</ram:ProcessConditionCode>"))
        #expect(all.contains("BR-02"))
        // the same invoice again is a duplicate (PPF uniqueness key)
        try g.deposit(try GatewayHarness.invoice(number: "MIX-1"), name: "again.xml")
        let dup = try g.waitForReceipts("again.xml.", count: 2)
        #expect(try dup.map { try String(contentsOf: $0, encoding: .utf8) }.joined().contains("DOUBLON"))
        let oracle = try GatewayHarness.cdarOracle(refused + docs + dup)
        #expect(oracle.ok, "CDAR oracle: \(oracle.out)")
        for r in refused + docs + dup { #expect(try g.opensslVerify(r)) }
        // empty file and unsupported syntax
        try g.deposit(Data(), name: "empty.xml")
        let empty = try g.waitForReceipts("empty.xml.", count: 1)
        #expect(try String(contentsOf: empty[0], encoding: .utf8).contains("IRR_VIDE_F"))
    }

    /// A large archive's receipt takes the worker a while to write (two fsynced files per
    /// invoice). The maintenance pass, every 100 ms here, redelivers committed receipts that are
    /// not marked delivered: it must leave alone the one a worker is still writing (it used to
    /// write the whole receipt a second time, after loading all of it from the database).
    @Test func maintenanceLeavesAReceiptBeingWrittenAlone() throws {
        let g = try GatewayHarness(maxInvoices: 1000, maxAge: "400ms")
        try g.start()
        let dir = g.root.appendingPathComponent("many")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let count = 300
        var names: [String] = []
        for i in 0..<count {
            let name = String(format: "inv-%03d.xml", i)
            try GatewayHarness.invoice(number: "MANY-\(i)").write(to: dir.appendingPathComponent(name))
            names.append(name)
        }
        let tgz = g.root.appendingPathComponent("many.tar.gz")
        #expect(try GatewayHarness.run("/usr/bin/tar", ["-czf", tgz.path, "-C", dir.path] + names).status == 0)
        try g.deposit(try Data(contentsOf: tgz), name: "many.tar.gz")
        let docs = try g.waitForReceipts("many.tar.gz.", count: count + 1, timeout: 60)
        #expect(docs.count == count + 1)
        // Let several maintenance passes run over the committed receipt.
        Thread.sleep(forTimeInterval: 1.0)
        let metrics = try String(decoding: g.http("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("flux_deposits_total"))
        let redelivered = GatewayHarness.metric("flux_receipts_redelivered_total", in: metrics) ?? 0
        #expect(redelivered == 0, "the maintenance pass wrote \(redelivered) receipts a worker was delivering")
        let rows = try g.db().read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipts WHERE delivered_at IS NULL") ?? -1
        }
        #expect(rows == 0, "every receipt document is marked delivered after a maintenance pass")
        #expect(g.stop() == 0)
    }

    @Test func batchesSealByCountAgeAndMonthAndTheQueueWorks() throws {
        let g = try GatewayHarness(maxInvoices: 2, maxAge: "2s")
        try g.start()
        // count: two invoices of one pair seal a batch at once
        try g.deposit(try GatewayHarness.invoice(number: "CNT-1"), name: "c1.xml")
        try g.deposit(try GatewayHarness.invoice(number: "CNT-2"), name: "c2.xml")
        _ = try g.waitForReceipts("c2.xml.", count: 2)
        _ = try g.waitForReceipts("c1.xml.", count: 2)
        let db = try g.db()
        try g.waitUntil(timeout: 10, "a batch sealed by count") {
            try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM batches WHERE seal_reason = 'count'") } == 1
        }
        // month: an October invoice after a September one seals the September batch
        try g.deposit(try GatewayHarness.invoice(number: "MON-1"), name: "m1.xml")
        _ = try g.waitForReceipts("m1.xml.", count: 2)
        try g.deposit(try GatewayHarness.invoice(number: "MON-2", issueDate: "20261002"), name: "m2.xml")
        _ = try g.waitForReceipts("m2.xml.", count: 2)
        try g.waitUntil(timeout: 10, "a batch sealed by month") {
            try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM batches WHERE seal_reason = 'month'") } == 1
        }
        // age: the October batch seals by itself after max_age
        try g.waitUntil(timeout: 15, "a batch sealed by age") {
            try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM batches WHERE seal_reason = 'age'") } == 1
        }
        // every accepted invoice is in exactly one batch
        let (accepted, batched) = try db.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoices WHERE status = 'accepted'")!,
             try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT invoice_id) FROM batch_invoices")!)
        }
        #expect(accepted == 4 && batched == 4)

        // the queue over HTTP: no token → 401
        #expect(try g.http("GET", "/v1/batches").status == 401)
        #expect(try g.http("GET", "/v1/batches", token: "wrong-token-wrong-token").status == 401)
        #expect(try g.http("GET", "/healthz").status == 200)
        let metrics = try String(decoding: g.http("GET", "/metrics").body, as: UTF8.self)
        #expect(metrics.contains("flux_deposits_total"))
        // a maintenance pass (the age seal above) has published the group-commit counters
        let commits = GatewayHarness.metric("flux_store_commits_total", in: metrics)
        let writes = GatewayHarness.metric("flux_store_committed_writes_total", in: metrics)
        #expect(commits ?? 0 >= 1, "flux_store_commits_total: \(commits.map { "\($0)" } ?? "absent")")
        #expect(writes ?? 0 >= 4, "flux_store_committed_writes_total: \(writes.map { "\($0)" } ?? "absent")")
        let claimed = try g.http("POST", "/v1/batches/claim?max=1&lease=1", token: g.token)
        #expect(claimed.status == 200)
        let list = try JSONSerialization.jsonObject(with: claimed.body) as? [[String: Any]] ?? []
        let id = try #require(list.first?["id"] as? String)
        // fetch the archive and check the manifest signature with openssl
        let tgz = g.root.appendingPathComponent("batch.tar.gz")
        #expect(try g.http("GET", "/v1/batches/\(id)/archive", token: g.token, out: tgz.path).status == 200)
        let x = g.root.appendingPathComponent("x")
        try FileManager.default.createDirectory(at: x, withIntermediateDirectories: true)
        #expect(try GatewayHarness.run("/usr/bin/tar", ["-xzf", tgz.path, "-C", x.path]).status == 0)
        let v = try GatewayHarness.run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", x.appendingPathComponent("manifest.p7s").path,
                                                          "-content", x.appendingPathComponent("manifest.json").path, "-CAfile", g.cert, "-out", "/dev/null"])
        #expect(v.status == 0, "\(v.out)")
        let manifest = try String(contentsOf: x.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("CNT-1") || manifest.contains("MON-1"))
        // lease expiry puts it back to ready; a second claim gets it again
        Thread.sleep(forTimeInterval: 1.5)
        let again = try g.http("POST", "/v1/batches/claim?max=10&lease=60", token: g.token)
        let ids = (try JSONSerialization.jsonObject(with: again.body) as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.contains(id))
        #expect(try g.http("POST", "/v1/batches/\(id)/ack", token: g.token).status == 200)
        #expect(try g.http("POST", "/v1/batches/\(id)/ack", token: g.token).status == 200, "ack is idempotent")
        let other = try #require(ids.first { $0 != id })
        #expect(try g.http("POST", "/v1/batches/\(other)/nack", token: g.token).status == 200)
        #expect(try g.http("POST", "/v1/batches/\(other)/ack", token: g.token).status == 409, "a nacked batch must be claimed again first")
        // the CLI sees the same queue
        let cliClaim = try g.cli(["queue", "claim", "--max", "5"])
        #expect(cliClaim.status == 0 && cliClaim.out.contains(other))
        let out = g.root.appendingPathComponent("fetched")
        let fetch = try g.cli(["queue", "fetch", other, "--out", out.path])
        #expect(fetch.status == 0 && FileManager.default.fileExists(atPath: out.appendingPathComponent("\(other).tar.gz").path))
        #expect(try g.cli(["queue", "ack", other]).status == 0)
        #expect(try g.cli(["journal", "verify"]).status == 0)
    }

    @Test func receiptsCanHaveTheirOwnECDSAKey() throws {
        let g = try GatewayHarness()
        let cfg = URL(fileURLWithPath: g.config)
        let base = try String(contentsOf: cfg, encoding: .utf8)
        func withGateway(_ extra: String) throws {
            try base.replacingOccurrences(of: "name = \"flux-gateway test\"", with: "name = \"flux-gateway test\"\n\(extra)")
                .write(to: cfg, atomically: true, encoding: .utf8)
        }
        // half a pair is a configuration error, not a silent fallback to the identity
        try withGateway("receipt_key = \"keys/receipts.key.pem\"")
        let half = try g.cli(["check-config"])
        #expect(half.status == 2)
        #expect(half.out.contains("gateway.receipt_key: receipt_key and receipt_cert go together"), "\(half.out)")

        try withGateway("receipt_key = \"keys/receipts.key.pem\"\nreceipt_cert = \"keys/receipts.cert.pem\"")
        try g.start()
        let sample = GatewayHarness.corpus.appendingPathComponent("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")
        try g.deposit(try Data(contentsOf: sample), name: "FR-CII.xml")
        let receipts = try g.waitForReceipts("FR-CII.xml.", count: 2)
        let receiptCert = g.state.appendingPathComponent("keys/receipts.cert.pem").path
        for r in receipts {
            let ok = try GatewayHarness.run("/usr/bin/openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", r.path + ".p7s",
                                                                 "-content", r.path, "-CAfile", receiptCert, "-out", "/dev/null"])
            #expect(ok.status == 0, "\(r.lastPathComponent) must verify against the receipt certificate: \(ok.out)")
            #expect(try !g.opensslVerify(r), "\(r.lastPathComponent) must not be signed by the gateway identity")
        }
        let cert = try GatewayHarness.run("/usr/bin/openssl", ["x509", "-in", receiptCert, "-noout", "-text"])
        #expect(cert.out.contains("id-ecPublicKey") && cert.out.contains("prime256v1"), "a generated receipt key is ECDSA P-256")
        #expect(!cert.out.contains("Key Encipherment"), "an EC certificate must not claim key encipherment")
        let mode = try FileManager.default.attributesOfItem(atPath: g.state.appendingPathComponent("keys/receipts.key.pem").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // the identity still seals the journal
        #expect(try g.cli(["journal", "verify"]).status == 0)
        #expect(g.stop() == 0)
    }

    @Test func invalidConfigIsRefusedWithFileKeyAndReason() throws {
        let g = try GatewayHarness()
        try "name = \"X\"\nsiren = \"123\"\nbogus = 1\n[dropzone]\ncompletion = \"sometimes\"\n"
            .write(to: g.root.appendingPathComponent("etc/partners.d/bad.toml"), atomically: true, encoding: .utf8)
        let check = try g.cli(["check-config"])
        #expect(check.status == 2)
        #expect(check.out.contains("bad.toml: siren:"))
        #expect(check.out.contains("bad.toml: bogus: unknown key"))
        #expect(check.out.contains("bad.toml: dropzone.completion:"))
        #expect(check.out.contains("bad.toml: address: is required"))
        let serve = try GatewayHarness.run(GatewayHarness.binary, ["serve", "--config", g.config])
        #expect(serve.status == 2)
        #expect(serve.out.contains("bad.toml: siren:"))
    }
}
