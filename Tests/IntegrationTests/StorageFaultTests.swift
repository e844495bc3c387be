import Foundation
import GRDB
import Testing

/// The state directory on a small tmpfs (the test runs as root, as CI does): filled up, then
/// remounted read-only. The gateway must refuse new deposits with a clear temporary error on
/// every input, keep serving what it can, recover by itself when the space or write access comes
/// back, and leave nothing half-written behind.
@Suite(.serialized)
struct StorageFaultTests {
    /// A tmpfs mounted over the harness's state directory for the life of the test.
    final class SmallDisk {
        let path: String
        init(at path: String, size: String) throws {
            self.path = path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let r = try GatewayHarness.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
            guard r.status == 0 else {
                throw HarnessError(message: "this test mounts a tmpfs for the state directory and must run as root (as CI does): \(r.out)")
            }
        }
        func remount(_ mode: String) throws {
            let r = try GatewayHarness.run("/bin/mount", ["-o", "remount,\(mode)", path])
            guard r.status == 0 else { throw HarnessError(message: "remount \(mode): \(r.out)") }
        }
        /// Writes a filler file until the disk refuses; bounded by the tmpfs size.
        func fill() throws -> String {
            let filler = path + "/filler"
            let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw HarnessError(message: "cannot create the filler") }
            defer { close(fd) }
            for size in [1 << 20, 4096, 512] {
                let chunk = [UInt8](repeating: 0x55, count: size)
                for _ in 0..<4096 where write(fd, chunk, size) == size {}
            }
            return filler
        }
        deinit {
            _ = try? GatewayHarness.run("/bin/umount", ["-l", path])
        }
    }

    static func sftpPut(_ g: GatewayHarness, _ file: URL, remote: String) throws -> (status: Int32, out: String) {
        try GatewayHarness.run(GatewayHarness.python, [GatewayHarness.repoRoot.appendingPathComponent("scripts/sftppeer.py").path, "paramiko",
                                                       "--port", "\(g.sftpPort)", "--user", "acme",
                                                       "--key", g.root.appendingPathComponent("clientkeys/acme_ed25519").path,
                                                       "--put", file.path, "--remote", remote])
    }

    static func as2(_ g: GatewayHarness, messageID: String, number: String) throws -> [String: Any] {
        try g.send(g.peerArgs() + ["--sign", "sha256", "--encrypt", "aes_256_cbc", "--signed-mdn", "--mdn-micalg", "sha256",
                                   "--message-id", messageID, "--invoice-number", number])
    }

    static func disposition(_ r: [String: Any]) -> String {
        ((r["mdn"] as? [String: Any])?["disposition"] as? String) ?? "HTTP \(r["http_status"] ?? "?")"
    }

    /// Files a crash or a failed write could leave: temp files, staging files, spool temps.
    static func leftovers(_ state: URL) -> [String] {
        var found: [String] = []
        let e = FileManager.default.enumerator(atPath: state.path)
        while let rel = e?.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasSuffix(".tmp") || name.hasPrefix(".sftp-upload-") || rel.hasPrefix("spool/tmp/") { found.append(rel) }
        }
        return found
    }

    @Test func fullDiskRefusesTemporarilyOnEveryInputAndRecoversByItself() throws {
        let g = try GatewayHarness(acmeCompletion: "trigger", as2: true, as2Extra: "min_free_disk = \"1MiB\"", sftp: true)
        let disk = try SmallDisk(at: g.state.path, size: "24m")
        defer { g.kill9() }
        try g.start()
        let invoiceFile = g.root.appendingPathComponent("sftp-invoice.xml")
        try GatewayHarness.invoice(number: "DISK-SFTP-1").write(to: invoiceFile)
        // Baseline: every input works.
        #expect(Self.disposition(try Self.as2(g, messageID: "<disk-0@acme.test>", number: "DISK-AS2-0")).hasSuffix("processed"))

        // The drop-zone file is written while there is room; its trigger comes once the disk is full.
        try GatewayHarness.invoice(number: "DISK-DZ-1").write(to: g.inbox().appendingPathComponent("dz-full.xml"))
        let filler = try disk.fill()

        // AS2: 503 with Retry-After before the body is read, no MDN, nothing recorded.
        let refused = try Self.as2(g, messageID: "<disk-1@acme.test>", number: "DISK-AS2-1")
        #expect(refused["http_status"] as? Int == 503, "\(refused)")
        #expect((refused["response_headers"] as? [String: Any])?["Retry-After"] != nil, "\(refused["response_headers"] ?? "")")
        #expect((refused["response_body"] as? String ?? "").contains("insufficient storage"), "\(refused["response_body"] ?? "")")
        // SFTP: the client's put fails with the reason.
        let put = try Self.sftpPut(g, invoiceFile, remote: "/inbox/sftp-full.xml")
        #expect(put.status != 0)
        #expect(put.out.contains("disk almost full"), "\(put.out)")
        // Drop zone: the trigger makes it complete. Where the full disk stops it depends on what
        // needs new blocks: the deposit fails and stays claimed, or (the WAL, checkpointed by
        // the maintenance pass, restarts in blocks it already has) the commit goes through and
        // its receipt fails to be written and is retried. Either way nothing is lost, no receipt
        // appears while the disk is full, and the error says why.
        FileManager.default.createFile(atPath: g.inbox().appendingPathComponent("dz-full.xml.ok").path, contents: nil)
        try g.waitUntil(timeout: 20, "the drop-zone deposit to fail for lack of space") {
            let log = (try? String(contentsOf: g.logFile, encoding: .utf8)) ?? ""
            let claimedAndRetried = log.contains("deposit failed; the claimed file is kept and retried") && log.contains("dz-full.xml")
            let receiptRetried = log.contains("receipt delivery failed, will retry") && log.contains("No space left on device")
            return claimedAndRetried || receiptRetried
        }
        #expect(g.receipts("dz-full.xml.").isEmpty)
        // Still serving what needs no space: health, the queue API, the journal.
        #expect(try g.http("GET", "/healthz").status == 200)
        #expect(try g.http("GET", "/v1/batches", token: g.token).status == 200)
        #expect(try g.cli(["journal", "tail", "--company", "acme"]).status == 0)

        // Space comes back: everything goes through without a restart.
        try FileManager.default.removeItem(atPath: filler)
        _ = try g.waitForReceipts("dz-full.xml.", count: 2, timeout: 30)
        try Self.expectRecovered(g, messageID: "<disk-1@acme.test>", number: "DISK-AS2-1", sftp: invoiceFile, remote: "sftp-full.xml")
    }

    /// After the fault: the refused AS2 message and SFTP upload go through when sent again,
    /// nothing half-written is left, the journal and the database check out.
    static func expectRecovered(_ g: GatewayHarness, messageID: String, number: String, sftp file: URL, remote: String) throws {
        let resent = try as2(g, messageID: messageID, number: number)
        #expect(disposition(resent).hasSuffix("processed"), "\(resent)")
        let again = try sftpPut(g, file, remote: "/inbox/\(remote)")
        #expect(again.status == 0, "\(again.out)")
        _ = try g.waitForReceipts("\(remote).", count: 2)
        #expect(leftovers(g.state).isEmpty, "\(leftovers(g.state))")
        let verify = try g.cli(["journal", "verify"])
        #expect(verify.status == 0, "\(verify.out)")
        #expect(try g.db().read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        #expect(g.stop() == 0)
    }

    /// The database files made immutable (`chattr +i`: even root's writes fail, on descriptors
    /// already open too), as when the volume holding them turns read-only.
    @Test func readOnlyDatabaseRefusesTemporarilyAndRecoversWhenWritable() throws {
        let g = try GatewayHarness(acmeCompletion: "trigger", as2: true, sftp: true, acmeSFTPExtra: "reject_on_close = true")
        try g.start()
        let invoiceFile = g.root.appendingPathComponent("sftp-invoice.xml")
        try GatewayHarness.invoice(number: "RO-SFTP-1").write(to: invoiceFile)
        #expect(Self.disposition(try Self.as2(g, messageID: "<ro-0@acme.test>", number: "RO-AS2-0")).hasSuffix("processed"))
        let dbFiles = ["gateway.sqlite", "gateway.sqlite-wal"].map { g.state.appendingPathComponent($0).path }
        func chattr(_ flag: String) throws {
            let r = try GatewayHarness.run("/usr/bin/chattr", [flag] + dbFiles)
            guard r.status == 0 else { throw HarnessError(message: "chattr \(flag) (the state directory must be on ext4 and the test run as root): \(r.out)") }
        }
        try chattr("+i")
        var restored = false
        defer { if !restored { _ = try? chattr("-i") } }
        // AS2: nothing can be recorded: 503 + Retry-After, no MDN.
        let refused = try Self.as2(g, messageID: "<ro-1@acme.test>", number: "RO-AS2-1")
        #expect(refused["http_status"] as? Int == 503, "\(refused)")
        #expect((refused["response_headers"] as? [String: Any])?["Retry-After"] != nil)
        #expect((refused["response_body"] as? String ?? "").contains("could not be stored"), "\(refused["response_body"] ?? "")")
        // SFTP with reject_on_close: the put fails, the client is told to try again later.
        let put = try Self.sftpPut(g, invoiceFile, remote: "/inbox/sftp-ro.xml")
        #expect(put.status != 0, "\(put.out)")
        #expect(put.out.contains("try again later"), "\(put.out)")
        #expect(try g.http("GET", "/healthz").status == 200)
        #expect(try g.http("GET", "/v1/batches", token: g.token).status == 200)

        try chattr("-i")
        restored = true
        try Self.expectRecovered(g, messageID: "<ro-1@acme.test>", number: "RO-AS2-1", sftp: invoiceFile, remote: "sftp-ro.xml")
    }
}
