import FluxCore
import FluxCrypto
import Foundation
import GRDB
import Testing

/// Crash consistency under mixed load (issue 6): drop zone, SFTP (paramiko), AS2 with sync and
/// async MDNs (pyas2lib) and a queue consumer run at once (scripts/torture/load.py) while the
/// daemon is SIGKILLed again and again: half the kills at random moments from outside, half by
/// the daemon itself at a named crash point (`FLUX_CRASH_POINT`), so every step between two
/// durable writes gets killed at least once. Then the invariants: nothing acknowledged is lost,
/// nothing is taken twice, every original is intact, every journal verifies, every async MDN
/// pending at a kill is delivered.
@Suite(.serialized)
struct TortureTests {
    static var kills: Int { Int(ProcessInfo.processInfo.environment["FLUX_TORTURE_KILLS"] ?? "") ?? 50 }

    @Test func killsUnderMixedLoadLoseAndDuplicateNothing() throws {
        let g = try GatewayHarness(maxInvoices: 4, maxAge: "2s", acmeCompletion: "rename", as2: true,
                                   as2Extra: "async_mdn_max_retry_delay = \"1s\"\nasync_mdn_attempts = 1000", sftp: true)
        try g.start()
        let work = g.root.appendingPathComponent("torture")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let mdnDir = work.appendingPathComponent("mdns")
        let mdnServer = try Self.spawn(GatewayHarness.python, [GatewayHarness.as2peer, "mdn-server", "--port", "\(g.mdnPort)",
                                                                "--out", mdnDir.path, "--max-seconds", "900"], log: work.appendingPathComponent("mdn-server.log"))
        defer { kill(mdnServer.processIdentifier, SIGKILL); mdnServer.waitUntilExit() }
        let stopFile = work.appendingPathComponent("stop")
        let reportFile = work.appendingPathComponent("report.json")
        let template = GatewayHarness.corpus.appendingPathComponent("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")
        let load = try Self.spawn(GatewayHarness.python, [
            GatewayHarness.repoRoot.appendingPathComponent("scripts/torture/load.py").path,
            "--as2-url", g.as2URL, "--partner-key", g.partnerCerts.appendingPathComponent("acme.key.pem").path,
            "--partner-cert", g.partnerCerts.appendingPathComponent("acme.cert.pem").path, "--server-cert", g.cert,
            "--mdn-url", "http://127.0.0.1:\(g.mdnPort)/mdn", "--mdn-state", mdnDir.path,
            "--sftp-port", "\(g.sftpPort)", "--sftp-key", g.root.appendingPathComponent("clientkeys/acme_ed25519").path,
            "--inbox", g.inbox().path, "--admin-url", "http://127.0.0.1:\(g.adminPort)",
            "--token-file", g.state.appendingPathComponent("keys/admin.token").path,
            "--template", template.path, "--stop-file", stopFile.path, "--out", reportFile.path, "--pause", "0.1",
        ], log: work.appendingPathComponent("load.log"))
        defer { if load.isRunning { kill(load.processIdentifier, SIGKILL); load.waitUntilExit() } }

        // The kills. Even rounds: from outside after a random time. Odd rounds: the daemon
        // restarts with the next crash point armed for its 1st-3rd pass and kills itself there.
        var rng = SystemRandomNumberGenerator()
        var external = 0
        var atPoint: [String: Int] = [:]
        var missed: [String] = []
        let started = Date()
        for round in 0..<Self.kills {
            if round % 2 == 0 {
                Thread.sleep(forTimeInterval: Double.random(in: 0.3...1.5, using: &rng))
                g.kill9()
                external += 1
                try g.start(orExit: true)
            } else {
                let point = CrashPoint.all[(round / 2) % CrashPoint.all.count]
                g.kill9()
                external += 1  // this kill is also external; the armed one below is counted apart
                try g.start(environment: ["FLUX_CRASH_POINT": "\(point):\(Int.random(in: 1...3, using: &rng))"], orExit: true)
                let p = try #require(g.process)
                let deadline = Date().addingTimeInterval(15)
                while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
                if p.isRunning { missed.append(point) } else { atPoint[point, default: 0] += 1 }
                g.kill9()
                try g.start(orExit: true)
            }
        }
        let killSeconds = Date().timeIntervalSince(started)
        // Calm: a clean daemon, the senders finish what they have in flight (retrying what was
        // never acknowledged), then everything drains.
        if g.process?.isRunning != true { try g.start() }
        FileManager.default.createFile(atPath: stopFile.path, contents: nil)
        let loadDeadline = Date().addingTimeInterval(240)
        while load.isRunning && Date() < loadDeadline { Thread.sleep(forTimeInterval: 0.2) }
        try #require(!load.isRunning, "the load driver did not finish; see \(work.path)/load.log")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: reportFile)) as? [String: Any])
        func list(_ k: String) -> [[String: Any]] { report[k] as? [[String: Any]] ?? [] }
        let sync = list("as2_sync"), async = list("as2_async"), sftp = list("sftp"), dz = list("dropzone")
        let gaveUp = list("gave_up")
        let queueAcked = report["queue_acked"] as? [String] ?? []
        #expect(gaveUp.isEmpty, "senders gave up: \(gaveUp.prefix(5))")
        #expect((report["errors"] as? [String] ?? []).isEmpty, "\(report["errors"] ?? "")")
        #expect(sync.allSatisfy { $0["outcome"] as? String == "processed" }, "\(sync.filter { $0["outcome"] as? String != "processed" }.prefix(3))")

        let acked: [String] = (sync + async + sftp + dz).compactMap { $0["number"] as? String }
        let db = try g.db()
        let asyncIDs = Set(async.compactMap { $0["message_id"] as? String })
        try g.waitUntil(timeout: 120, "every acknowledged invoice to be recorded and batched, every receipt and async MDN out") {
            let inbox = (try? FileManager.default.contentsOfDirectory(atPath: g.inbox().path)) ?? []
            let claimed = (try? FileManager.default.contentsOfDirectory(atPath: g.state.appendingPathComponent("dropzones/acme/.claimed").path)) ?? []
            guard inbox.isEmpty, claimed.isEmpty else { return false }
            return try db.read { db in
                let batched = try Int.fetchOne(db, sql: """
                    SELECT COUNT(DISTINCT i.number) FROM invoices i JOIN batch_invoices bi ON bi.invoice_id = i.id
                    WHERE i.status = 'accepted' AND i.number LIKE 'TORT-%'
                    """) ?? 0
                let open = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batches WHERE status = 'open'") ?? 1
                let undelivered = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipts WHERE delivered_at IS NULL") ?? 1
                let pendingMDN = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM mdn_outbox WHERE delivered_at IS NULL") ?? 1
                return batched >= acked.count && open == 0 && undelivered == 0 && pendingMDN == 0
            }
        }

        var lost: [String] = []
        var duplicated: [String] = []
        var corrupt: [String] = []
        var rejectedResends = 0
        let spoolRoot = g.state.appendingPathComponent("spool").path
        try db.read { db in
            for n in acked {
                let accepted = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoices WHERE number = ? AND status = 'accepted'", arguments: [n]) ?? 0
                let batched = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM batch_invoices bi JOIN invoices i ON i.id = bi.invoice_id WHERE i.number = ?
                    """, arguments: [n]) ?? 0
                if accepted == 0 || batched == 0 { lost.append(n) }
                if accepted > 1 || batched > 1 { duplicated.append(n) }
            }
            // A resend after a lost acknowledgement (SFTP) must be refused as a duplicate, never taken twice.
            rejectedResends = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoices WHERE number LIKE 'TORT-%' AND status != 'accepted'") ?? 0
            let twiceInABatch = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM (SELECT invoice_id FROM batch_invoices GROUP BY invoice_id HAVING COUNT(*) > 1)
                """) ?? 0
            #expect(twiceInABatch == 0)
            // Each acknowledged AS2 message id has exactly one positive exchange that is not a resend.
            for m in sync + async {
                guard let id = m["message_id"] as? String else { continue }
                let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM as2_messages WHERE as2_message_id IN (?, ?) AND positive = 1 AND duplicate_of IS NULL",
                                         arguments: [id, "<\(id)>"]) ?? 0
                if n != 1 { duplicated.append("AS2 \(id): \(n) exchanges") }
            }
            // Every original, in every message (and every raw AS2 request), still hashes to its name.
            let hashes = try String.fetchAll(db, sql: "SELECT sha256 FROM messages UNION SELECT raw_sha256 FROM as2_messages UNION SELECT sha256 FROM invoices")
            for h in hashes {
                let path = "\(spoolRoot)/\(h.prefix(2))/\(h)"
                guard let data = FileManager.default.contents(atPath: path) else { corrupt.append("\(h): missing"); continue }
                let actual = DigestAlgorithm.sha256.hash(data).map { String(format: "%02x", $0) }.joined()
                if actual != h { corrupt.append("\(h): hashes to \(actual)") }
            }
            for id in queueAcked {
                let status = try String.fetchOne(db, sql: "SELECT status FROM batches WHERE id = ?", arguments: [id])
                #expect(status == "acked", "batch \(id) was acknowledged to the consumer but is \(status ?? "missing")")
            }
        }
        // Every receipt of a drop-zone or SFTP invoice is in the outbox, signed.
        let outbox = Set((try? FileManager.default.contentsOfDirectory(atPath: g.outbox().path)) ?? [])
        let missingReceipts = (sftp + dz).compactMap { $0["number"] as? String }.filter { n in
            let stem = n.hasPrefix("TORT-DZ-") ? "tort-dz-" : "tort-sftp-"
            let file = stem + n.suffix(5) + ".xml."
            return !outbox.contains { $0.hasPrefix(file) && $0.hasSuffix(".cdar.xml") }
        }
        #expect(missingReceipts.isEmpty, "no receipt for \(missingReceipts.prefix(5))")
        // Every async MDN the gateway owed arrived, positive and verified, even those pending at a kill.
        let verdicts = ((try? FileManager.default.contentsOfDirectory(atPath: mdnDir.path)) ?? []).filter { $0.hasPrefix("mdn-") && $0.hasSuffix(".json") }
        var delivered = Set<String>()
        for v in verdicts {
            guard let d = try? JSONSerialization.jsonObject(with: Data(contentsOf: mdnDir.appendingPathComponent(v))) as? [String: Any],
                  d["processed"] as? Bool == true, d["signature_ok"] as? Bool == true, d["mic_ok"] as? Bool == true,
                  let omid = d["original_message_id"] as? String else { continue }
            delivered.insert(omid.trimmingCharacters(in: CharacterSet(charactersIn: "<> ")))
        }
        let undeliveredMDNs = asyncIDs.subtracting(delivered)
        #expect(undeliveredMDNs.isEmpty, "async MDNs never delivered (or not verified): \(Array(undeliveredMDNs).prefix(5))")
        #expect(corrupt.isEmpty, "\(corrupt.prefix(5))")
        let verify = try g.cli(["journal", "verify"])
        #expect(verify.status == 0, "\(verify.out)")
        #expect(g.stop() == 0)

        let points = CrashPoint.all.map { "\($0)=\(atPoint[$0] ?? 0)" }.joined(separator: " ")
        print("""
            torture: \(Self.kills + atPoint.values.reduce(0, +)) kills (\(external) from outside at random moments, \(atPoint.values.reduce(0, +)) by the daemon at crash points) in \(Int(killSeconds)) s
            torture: crash points reached: \(points)\(missed.isEmpty ? "" : "; not reached within 15 s: \(missed)")
            torture: acknowledged: \(sync.count) AS2 sync, \(async.count) AS2 async (\(delivered.count) async MDNs verified), \(sftp.count) SFTP, \(dz.count) drop zone; \(queueAcked.count) batches acked by the consumer; \(rejectedResends) resends refused as duplicates
            torture: \(Self.kills + atPoint.values.reduce(0, +)) kills, \(lost.count) lost, \(duplicated.count) duplicated, \(corrupt.count) corrupt originals
            """)
        #expect(lost.isEmpty, "lost: \(lost.prefix(10))")
        #expect(duplicated.isEmpty, "duplicated: \(duplicated.prefix(10))")
        #expect(missed.count <= CrashPoint.all.count / 3, "too many crash points never reached: \(missed)")
    }

    static func spawn(_ exe: String, _ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h
        p.standardError = h
        try p.run()
        return p
    }
}
