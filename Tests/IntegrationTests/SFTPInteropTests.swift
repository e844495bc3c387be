import Foundation
import GRDB
import Testing

/// The embedded SFTP server against real clients over loopback: OpenSSH `sftp`, curl (libssh2),
/// paramiko and asyncssh.
@Suite(.serialized)
struct SFTPInteropTests {
    static func key(_ g: GatewayHarness, _ name: String) -> String { g.root.appendingPathComponent("clientkeys/\(name)").path }

    /// Runs OpenSSH `sftp` in batch mode; returns (exit status, output).
    static func sftp(_ g: GatewayHarness, user: String = "acme", key: String = "acme_ed25519", batch: String, options: [String] = []) throws -> (Int32, String) {
        let file = g.root.appendingPathComponent("batch-\(UUID().uuidString.prefix(6))")
        try batch.write(to: file, atomically: true, encoding: .utf8)
        let r = try GatewayHarness.run("/usr/bin/sftp", ["-b", file.path, "-i", Self.key(g, key), "-P", "\(g.sftpPort)",
                                                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                                        "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "IdentitiesOnly=yes"] + options + ["\(user)@127.0.0.1"])
        return (r.status, r.out)
    }

    static func invoiceFile(_ g: GatewayHarness, _ number: String) throws -> URL {
        let f = g.root.appendingPathComponent("\(number).xml")
        try GatewayHarness.invoice(number: number).write(to: f)
        return f
    }

    static func sha256(_ url: URL) throws -> String {
        let r = try GatewayHarness.run("/usr/bin/sha256sum", [url.path])
        return String(r.out.prefix(64))
    }

    /// A session caches that its claim directory exists; one removed behind its back (an
    /// operator's clean-up) is made again instead of failing the next upload.
    @Test func claimDirectoryRemovedDuringASessionIsMadeAgain() throws {
        let g = try GatewayHarness(sftp: true)
        try g.start()
        defer { _ = g.stop() }
        let a = try Self.invoiceFile(g, "CLAIMDIR-A"), b = try Self.invoiceFile(g, "CLAIMDIR-B")
        let dir = g.state.appendingPathComponent("dropzones/acme/.claimed").path
        // `!` runs a local command between the two uploads of one session; it fails the batch
        // unless the directory was really removed (it empties once the first upload is committed).
        let wait = "for i in $(seq 1 40); do rmdir \(dir) 2>/dev/null && break; sleep 0.25; done; test ! -d \(dir)"
        let (status, out) = try Self.sftp(g, batch: "cd /inbox\nput \(a.path) a.xml\n!\(wait)\nput \(b.path) b.xml\n")
        #expect(status == 0, "\(out)")
        #expect(try g.waitForReceipts("a.xml.", count: 2).count == 2)
        #expect(try g.waitForReceipts("b.xml.", count: 2).count == 2)
    }

    @Test func opensshClientKeysAndCiphersUploadGetReceiptsAndCleanOutbox() throws {
        let g = try GatewayHarness(sftp: true)
        try g.start()
        var n = 0
        for (key, cipher) in [("acme_ed25519", "chacha20-poly1305@openssh.com"), ("acme_rsa", "aes128-ctr"), ("acme_ed25519", "aes256-gcm@openssh.com")] {
            n += 1
            let number = "SFTP-\(n)-\(UUID().uuidString.prefix(6))"
            let f = try Self.invoiceFile(g, number)
            let (status, out) = try Self.sftp(g, key: key, batch: "cd /inbox\nput \(f.path) \(number).xml\n", options: ["-c", cipher])
            #expect(status == 0, "\(key) \(cipher): \(out)")
            let receipts = try g.waitForReceipts("\(number).xml.", count: 2)
            #expect(receipts.count == 2)
            // byte-identical original in the spool
            let sha = try g.db().read { try String.fetchOne($0, sql: "SELECT sha256 FROM messages WHERE file_name = ? AND channel = 'sftp'", arguments: ["\(number).xml"]) }
            #expect(sha == (try Self.sha256(f)), "the spooled original must be the uploaded bytes")
        }
        // list, fetch and delete receipts in /outbox
        let fetched = g.root.appendingPathComponent("fetched")
        try FileManager.default.createDirectory(at: fetched, withIntermediateDirectories: true)
        let (st, out) = try Self.sftp(g, batch: "cd /outbox\nls -l\nlcd \(fetched.path)\nget *.cdar.xml\nrm *\nls\n")
        #expect(st == 0, "\(out)")
        #expect(out.contains(".cdar.xml"))
        let got = try FileManager.default.contentsOfDirectory(atPath: fetched.path)
        #expect(got.count == 6, "\(got)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: g.outbox().path).isEmpty, "rm in /outbox deletes the receipts")
        let tail = try g.cli(["journal", "tail", "--company", "acme"])
        #expect(tail.out.contains("received sftp flux accepted"), "\(tail.out.prefix(1500))")
        #expect(g.stop() == 0)
    }

    @Test func largeUploadWithRekeyingIsByteIdenticalAndTempNamesWaitForRename() throws {
        let g = try GatewayHarness(sftp: true, acmeSFTPExtra: "max_file_size = \"200MiB\"\nquota_bytes = \"512MiB\"")
        try g.start()
        // 64 MiB of random bytes (not an invoice: the flux is refused, but stored byte for byte)
        let big = g.root.appendingPathComponent("big.bin")
        let r = try GatewayHarness.run("/bin/sh", ["-c", "head -c 67108864 /dev/urandom > \(big.path)"])
        #expect(r.status == 0)
        let (status, out) = try Self.sftp(g, batch: "put \(big.path) /inbox/big.bin\n", options: ["-o", "RekeyLimit=1M"])
        #expect(status == 0, "\(out)")
        _ = try g.waitForReceipts("big.bin.", count: 1, timeout: 60)
        let sha = try g.db().read { try String.fetchOne($0, sql: "SELECT sha256 FROM messages WHERE file_name = 'big.bin'") }
        #expect(sha == (try Self.sha256(big)))
        // a client temp name is listed as pending and processed only once renamed (in its session)
        let number = "SFTP-T-\(UUID().uuidString.prefix(6))"
        let f = try Self.invoiceFile(g, number)
        let (s2, o2) = try Self.sftp(g, batch: "put \(f.path) /inbox/\(number).xml.filepart\nls -l /inbox\nrename /inbox/\(number).xml.filepart /inbox/\(number).xml\nls -l /inbox\n")
        #expect(s2 == 0, "\(o2)")
        #expect(o2.contains("\(number).xml.filepart"), "a pending temp file is listed: \(o2)")
        _ = try g.waitForReceipts("\(number).xml.", count: 2)
        #expect(g.receipts("\(number).xml.filepart").isEmpty, "the temp name itself is never a deposit")
        #expect(g.stop() == 0)
    }

    @Test func curlParamikoAndAsyncsshUpload() throws {
        let g = try GatewayHarness(sftp: true)
        try g.start()
        // curl (libssh2), RSA key in PEM form
        let n1 = "SFTP-C-\(UUID().uuidString.prefix(6))"
        let f1 = try Self.invoiceFile(g, n1)
        let curl = try GatewayHarness.run("/usr/bin/curl", ["-s", "-S", "--insecure", "--key", Self.key(g, "acme_rsa"), "--pubkey", Self.key(g, "acme_rsa") + ".pub",
                                                           "-T", f1.path, "sftp://acme@127.0.0.1:\(g.sftpPort)/inbox/\(n1).xml"])
        #expect(curl.status == 0, "curl: \(curl.out)")
        _ = try g.waitForReceipts("\(n1).xml.", count: 2)
        // paramiko and asyncssh from the test venv
        for lib in ["paramiko", "asyncssh"] {
            let n = "SFTP-\(lib.prefix(1).uppercased())-\(UUID().uuidString.prefix(6))"
            let f = try Self.invoiceFile(g, n)
            let r = try GatewayHarness.run(GatewayHarness.python, [GatewayHarness.repoRoot.appendingPathComponent("scripts/sftppeer.py").path, lib,
                                                                  "--port", "\(g.sftpPort)", "--user", "acme", "--key", Self.key(g, "acme_ed25519"),
                                                                  "--put", f.path, "--remote", "/inbox/\(n).xml"])
            #expect(r.status == 0, "\(lib): \(r.out)")
            _ = try g.waitForReceipts("\(n).xml.", count: 2)
        }
        #expect(g.stop() == 0)
    }

    @Test func passwordLoginOnlyWhenThePartnerSetAHash() throws {
        // sha512-crypt made by Python's crypt module; the gateway checks it with libxcrypt
        let h = try GatewayHarness.run(GatewayHarness.python, ["-W", "ignore", "-c", "import crypt; print(crypt.crypt('s3cret-Pass', crypt.mksalt(crypt.METHOD_SHA512)))"])
        let hash = h.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash.hasPrefix("$6$"), "\(h.out)")
        let g = try GatewayHarness(sftp: true, acmeSFTPExtra: "password_hash = \"\(hash)\"")
        try g.start()
        let peer = GatewayHarness.repoRoot.appendingPathComponent("scripts/sftppeer.py").path
        let f = try Self.invoiceFile(g, "PW-\(UUID().uuidString.prefix(6))")
        var r = try GatewayHarness.run(GatewayHarness.python, [peer, "paramiko", "--port", "\(g.sftpPort)", "--user", "acme", "--password", "s3cret-Pass",
                                                              "--put", f.path, "--remote", "/inbox/pw.xml"])
        #expect(r.status == 0, "\(r.out)")
        r = try GatewayHarness.run(GatewayHarness.python, [peer, "paramiko", "--port", "\(g.sftpPort)", "--user", "acme", "--password", "wrong",
                                                          "--put", f.path, "--remote", "/inbox/pw2.xml"])
        #expect(r.status != 0)
        // globex has no hash: no password works
        r = try GatewayHarness.run(GatewayHarness.python, [peer, "paramiko", "--port", "\(g.sftpPort)", "--user", "globex", "--password", "s3cret-Pass",
                                                          "--put", f.path, "--remote", "/inbox/pw3.xml"])
        #expect(r.status != 0)
        _ = try g.waitForReceipts("pw.xml.", count: 2)
        #expect(g.stop() == 0)
    }

    @Test func escapesAndAbuseAreRefused() throws {
        let g = try GatewayHarness(sftp: true, sftpExtra: "defender_threshold = 4\ndefender_ban_time = \"30s\"")
        try g.start()
        let f = try Self.invoiceFile(g, "ESC-\(UUID().uuidString.prefix(6))")
        // the root holds exactly inbox and outbox
        var (s, out) = try Self.sftp(g, batch: "ls -1 /\n")
        #expect(s == 0, "\(out)")
        #expect(out.contains("inbox") && out.contains("outbox"))
        for bad in ["put \(f.path) /inbox/../../escape.xml", "put \(f.path) /../globex/inbox/x.xml", "get /etc/passwd /tmp/x",
                    "get /inbox/../../../etc/passwd /tmp/x", "symlink /etc/passwd /inbox/link", "put \(f.path) /outbox/x.xml",
                    "mkdir /inbox/sub", "put \(f.path) /inbox/.hidden.xml"] {
            (s, out) = try Self.sftp(g, batch: bad + "\n")
            #expect(s != 0, "must fail: \(bad): \(out)")
        }
        #expect(!FileManager.default.fileExists(atPath: g.state.appendingPathComponent("dropzones/escape.xml").path))
        #expect(!FileManager.default.fileExists(atPath: g.state.appendingPathComponent("escape.xml").path))
        // exec and shell are refused
        let exec = try GatewayHarness.run("/usr/bin/ssh", ["-i", Self.key(g, "acme_ed25519"), "-p", "\(g.sftpPort)", "-o", "StrictHostKeyChecking=no",
                                                          "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "acme@127.0.0.1", "id"])
        #expect(exec.status != 0, "\(exec.out)")
        // wrong key, unknown user
        (s, out) = try Self.sftp(g, key: "stranger_ed25519", batch: "ls /\n")
        #expect(s != 0)
        #expect(out.contains("Permission denied (publickey)"), "no partner has a password: only publickey is offered: \(out)")
        (s, out) = try Self.sftp(g, user: "nobody", batch: "ls /\n")
        #expect(s != 0)
        // globex cannot see acme's files and acme's key does not open globex
        (s, out) = try Self.sftp(g, user: "globex", key: "acme_ed25519", batch: "ls /\n")
        #expect(s != 0)
        // a flood of failed logins gets the address banned: even the right key is then refused
        for _ in 0..<4 { _ = try Self.sftp(g, user: "nobody", key: "stranger_ed25519", batch: "ls /\n") }
        (s, out) = try Self.sftp(g, batch: "ls /\n")
        #expect(s != 0, "127.0.0.1 should be banned now: \(out)")
        let log = try String(contentsOf: g.logFile, encoding: .utf8)
        #expect(log.contains("SFTP address banned"))
        #expect(g.stop() == 0)
    }

    @Test func rejectOnCloseFailsThePutAndAKilledClientLeavesNothing() throws {
        let g = try GatewayHarness(sftp: true)
        try g.start()
        // globex has reject_on_close: a non-invoice fails the client's put with the reason
        let junk = g.root.appendingPathComponent("junk.json")
        try Data("{\"not\": \"an invoice\"}".utf8).write(to: junk)
        let (s, out) = try Self.sftp(g, user: "globex", key: "globex_ed25519", batch: "put \(junk.path) /inbox/junk.json\n")
        #expect(s != 0, "the put must fail: \(out)")
        // OpenSSH prints only the status ("Failure"); the reason is in the 501 receipt and the journal
        let refused = try g.waitForReceipts("junk.json.", count: 1, partner: "globex")
        #expect(try String(contentsOf: refused[0], encoding: .utf8).contains("IRR_TYPE_F"))
        // a client killed in the middle of an upload: no invoice, staging cleaned, journalled
        let r = try GatewayHarness.run(GatewayHarness.python, [GatewayHarness.repoRoot.appendingPathComponent("scripts/sftppeer.py").path, "paramiko",
                                                              "--port", "\(g.sftpPort)", "--user", "acme", "--key", Self.key(g, "acme_ed25519"),
                                                              "--die-mid-upload", "--remote", "/inbox/partial.xml"])
        #expect(r.status == 137 || r.status == 9 || r.status != 0, "\(r.out)")
        try g.waitUntil(timeout: 20, "the abort to be journalled") {
            try g.cli(["journal", "tail", "--company", "acme"]).out.contains("aborted")
        }
        let staging = g.state.appendingPathComponent("dropzones/acme/.sftp-staging")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []).isEmpty, "staging cleaned")
        #expect(try g.db().read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM messages WHERE file_name = 'partial.xml'") } == 0)
        #expect(g.stop() == 0)
    }
}
