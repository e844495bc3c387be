import Foundation
import GRDB
import Testing

/// The hostile corpus (issue 6) against the running daemon, one row per attack: what we expect,
/// what we observed, how long it took. Prints the table; every row must pass, each within its
/// time limit, and the daemon's peak memory must stay bounded.
@Suite(.serialized)
struct HostileInputTests {
    struct Row {
        var input: String
        var expected: String
        var observed: String
        var seconds: Double
        var limit: Double
        var pass: Bool
    }

    /// A loopback TCP connection for byte-level abuse.
    final class Raw {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            let c = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard c == 0 else { close(fd); throw HarnessError(message: "connect \(port) failed") }
        }
        deinit { close(fd) }
        @discardableResult
        func send(_ s: String) -> Bool { send(Data(s.utf8)) }
        @discardableResult
        func send(_ d: Data) -> Bool {
            d.withUnsafeBytes { Foundation.send(fd, $0.baseAddress!, d.count, Int32(MSG_NOSIGNAL)) == d.count }
        }
        /// Waits up to `timeout` for data or EOF; returns what came (nil: nothing yet).
        func poll(_ timeout: Double) -> (data: Data, closed: Bool)? {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&p, 1, Int32(timeout * 1000)) > 0 else { return nil }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buf, buf.count, 0)
            return n <= 0 ? (Data(), true) : (Data(buf[0..<n]), false)
        }
        /// Everything until EOF or `timeout`.
        func readAll(_ timeout: Double) -> Data {
            var out = Data()
            let end = Date().addingTimeInterval(timeout)
            while Date() < end, let r = poll(max(0.01, end.timeIntervalSinceNow)) {
                if r.closed { break }
                out.append(r.data)
            }
            return out
        }
    }

    static func statusLine(_ d: Data) -> String {
        String(decoding: d.prefix(200), as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? "(nothing)"
    }

    /// Trickles a request one byte every 250 ms until the server answers or closes.
    static func slowloris(port: Int, head: String, max: Double) throws -> (observed: String, seconds: Double) {
        let c = try Raw(port: port)
        let start = Date()
        let bytes = Array(head.utf8)
        var i = 0
        while Date().timeIntervalSince(start) < max {
            if i < bytes.count { _ = c.send(Data([bytes[i]])); i += 1 } else { _ = c.send("X") }
            if let r = c.poll(0.25) {
                let rest = r.closed ? Data() : r.data + c.readAll(2)
                let what = r.closed && rest.isEmpty ? "connection closed" : statusLine(rest) + ", connection closed"
                return (what, Date().timeIntervalSince(start))
            }
        }
        return ("still open after \(max) s", Date().timeIntervalSince(start))
    }

    static func peakRSS(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0  // kB
    }

    @Test func hostileCorpusGetsSpecificErrorsInTimeWithBoundedMemory() throws {
        let g = try GatewayHarness(acmeCompletion: "rename", as2: true, as2RequestTimeout: "3s", sftp: true,
                                   adminExtra: "request_timeout = \"2s\"\nmax_connections = 4")
        try g.start()
        let work = g.root.appendingPathComponent("hostile")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var rows: [Row] = []
        func row(_ input: String, expected: String, limit: Double, _ body: () throws -> (String, Bool)) {
            let t0 = Date()
            let (observed, ok): (String, Bool)
            do { (observed, ok) = try body() } catch { (observed, ok) = ("error: \(error)", false) }
            let s = Date().timeIntervalSince(t0)
            rows.append(Row(input: input, expected: expected, observed: observed, seconds: s, limit: limit, pass: ok && s <= limit))
        }

        // Drop-zone files, built here and by Python's tarfile/zipfile: the daemon must refuse
        // each flux with the specific PPF reason, without expanding or following anything.
        let py = """
            import io, sys, tarfile, zipfile, os
            d = sys.argv[1]
            inv = open(sys.argv[2], 'rb').read()
            def tgz(name, members):
                with tarfile.open(os.path.join(d, name), 'w:gz') as t:
                    for m in members:
                        t.addfile(m[0], io.BytesIO(m[1]) if m[1] is not None else None)
            def reg(n, data):
                i = tarfile.TarInfo(n); i.size = len(data); return (i, data)
            def link(n, target):
                i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = target; return (i, None)
            tgz('escape.tar.gz', [reg('../../escape.xml', inv)])
            tgz('absolute.tar.gz', [reg('/tmp/absolute.xml', inv)])
            tgz('symlink.tar.gz', [link('passwd.xml', '/etc/passwd'), reg('ok.xml', inv)])
            zeros = b'\\0' * (64 << 20)
            tgz('bomb.tar.gz', [reg('bomb.xml', zeros)])
            with zipfile.ZipFile(os.path.join(d, 'bomb.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('bomb.xml', zeros)
            with zipfile.ZipFile(os.path.join(d, 'escape.zip'), 'w') as z:
                z.writestr('../escape.xml', inv)
            """
        let template = GatewayHarness.corpus.appendingPathComponent("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")
        let gen = try GatewayHarness.run(GatewayHarness.python, ["-c", py, work.path, template.path])
        #expect(gen.status == 0, "\(gen.out)")
        try """
            <?xml version="1.0"?>
            <!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
            <rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&x;</rsm:CrossIndustryInvoice>
            """.write(to: work.appendingPathComponent("xxe.xml"), atomically: true, encoding: .utf8)
        var laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        for i in 1...9 { laughs += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : "\(i - 1)");", count: 10) + "\">\n" }
        laughs += "]>\n<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">&lol9;</Invoice>\n"
        try laughs.write(to: work.appendingPathComponent("billion-laughs.xml"), atomically: true, encoding: .utf8)

        let fluxCases: [(file: String, label: String, code: String, words: String)] = [
            ("xxe.xml", "XML with an external entity (XXE, file:///etc/passwd)", "IRR_SYNTAX", "DTD"),
            ("billion-laughs.xml", "XML entity bomb (billion laughs)", "IRR_SYNTAX", "DTD"),
            ("bomb.tar.gz", "tar.gz bomb (64 MiB of zeros, ratio ~1000)", "IRR_EXTRAC", "expands more than"),
            ("bomb.zip", "zip bomb (64 MiB of zeros, ratio ~1000)", "IRR_EXTRAC", "expands more than"),
            ("escape.tar.gz", "tar member ../../escape.xml", "IRR_EXTRAC", "escapes the archive"),
            ("absolute.tar.gz", "tar member /tmp/absolute.xml", "IRR_EXTRAC", "absolute path"),
            ("symlink.tar.gz", "tar symlink member -> /etc/passwd", "IRR_EXTRAC", "not a regular file"),
            ("escape.zip", "zip member ../escape.xml", "IRR_EXTRAC", "escapes the archive"),
        ]
        let db = try g.db()
        for c in fluxCases {
            row(c.label, expected: "flux refused, \(c.code) (\(c.words))", limit: 15) {
                let tmp = g.inbox().appendingPathComponent(c.file + ".part")
                try FileManager.default.copyItem(at: work.appendingPathComponent(c.file), to: tmp)
                try FileManager.default.moveItem(at: tmp, to: g.inbox().appendingPathComponent(c.file))
                var found: (String, String)?
                try g.waitUntil(timeout: 15, "the verdict on \(c.file)") {
                    found = try db.read { try verdict($0, c.file) }
                    return found != nil
                }
                let (status, reasons) = found!
                return ("\(status): \(reasons.prefix(160))", status == "refused" && reasons.contains(c.code) && reasons.contains(c.words))
            }
        }
        // A symlink planted in the drop zone by a local user: never followed, never spooled.
        row("symlink planted in the drop-zone inbox -> /etc/passwd", expected: "ignored with a warning, nothing read", limit: 10) {
            // made under a temp name and renamed in, as rename mode expects of a deposit
            symlink("/etc/passwd", g.inbox().appendingPathComponent("planted.xml.part").path)
            rename(g.inbox().appendingPathComponent("planted.xml.part").path, g.inbox().appendingPathComponent("planted.xml").path)
            try g.waitUntil(timeout: 10, "the warning") {
                String(decoding: (try? Data(contentsOf: g.logFile)) ?? Data(), as: UTF8.self).contains("drop zone entry ignored: not a regular file")
            }
            let recorded = try db.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM messages WHERE file_name = 'planted.xml'") } ?? -1
            return ("warning logged, \(recorded) message recorded", recorded == 0)
        }

        // AS2 listener.
        row("AS2: Content-Length: 2147483648 declared", expected: "413 before any body byte", limit: 3) {
            let c = try Raw(port: g.as2Port)
            c.send("POST /as2 HTTP/1.1\r\nHost: x\r\nAS2-From: ACME\r\nAS2-To: GATEWAY\r\nAS2-Version: 1.2\r\nMessage-ID: <big@acme>\r\n"
                   + "Content-Type: application/pkcs7-mime\r\nContent-Length: 2147483648\r\n\r\n")
            let line = Self.statusLine(c.readAll(3))
            return (line, line.hasPrefix("HTTP/1.1 413"))
        }
        row("AS2: endless header lines (up to 4 MiB sent)", expected: "431 after the 64 KiB head limit", limit: 5) {
            let c = try Raw(port: g.as2Port)
            c.send("POST /as2 HTTP/1.1\r\nHost: x\r\n")
            var sent = 0
            let pad = "X-Pad: " + String(repeating: "a", count: 1000) + "\r\n"
            let chunk = String(repeating: pad, count: 16)
            var answer = Data()
            while sent < 4 << 20, c.send(chunk) {
                sent += chunk.utf8.count
                if let r = c.poll(0.01) { answer = r.data; break }
            }
            let line = Self.statusLine(answer + c.readAll(3))
            return ("\(line) after \(sent / 1024) KiB sent", line.hasPrefix("HTTP/1.1 431") && sent < 1 << 20)
        }
        row("AS2: slowloris (1 byte / 250 ms)", expected: "408 and closed at request_timeout (3 s)", limit: 6) {
            let r = try Self.slowloris(port: g.as2Port, head: "POST /as2 HTTP/1.1\r\nHost: x\r\nAS2-From: ACME\r\n", max: 10)
            return ("\(r.observed) after \(String(format: "%.1f", r.seconds)) s", r.observed.contains("408") && r.seconds >= 2.5)
        }
        // Admin listener.
        row("admin: slowloris (1 byte / 250 ms)", expected: "closed at request_timeout (2 s)", limit: 5) {
            let r = try Self.slowloris(port: g.adminPort, head: "GET /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ", max: 10)
            return ("\(r.observed) after \(String(format: "%.1f", r.seconds)) s", r.observed.contains("closed") && r.seconds >= 1.5)
        }
        row("admin: 6 idle connections, max_connections = 4", expected: "the 5th and 6th closed at once", limit: 4) {
            let conns = try (0..<6).map { _ in try Raw(port: g.adminPort) }
            Thread.sleep(forTimeInterval: 0.3)
            let closed = conns.map { $0.poll(0.2)?.closed == true }
            return ("closed: \(closed)", closed.filter { $0 }.count == 2)
        }
        row("admin: no token, then a wrong token", expected: "401 twice, a good token 200", limit: 5) {
            let a = try g.http("GET", "/v1/batches").status
            let b = try g.http("GET", "/v1/batches", token: "not-the-token").status
            let c = try g.http("GET", "/v1/batches", token: g.token).status
            return ("\(a), \(b), \(c)", a == 401 && b == 401 && c == 200)
        }

        // SFTP, with paramiko: traversal, planted symlinks, long names, NUL, SYMLINK, raw packets.
        symlink("/etc", g.outbox().appendingPathComponent("planted").path)
        symlink("/etc/passwd", g.outbox().appendingPathComponent("planted-file").path)
        let t0 = Date()
        let sftp = try GatewayHarness.run(GatewayHarness.python, [GatewayHarness.repoRoot.appendingPathComponent("scripts/hostile/sftp_hostile.py").path,
                                                                  "--port", "\(g.sftpPort)", "--user", "acme",
                                                                  "--key", g.root.appendingPathComponent("clientkeys/acme_ed25519").path])
        let sftpSeconds = Date().timeIntervalSince(t0)
        let results = (try? JSONSerialization.jsonObject(with: Data(sftp.out.utf8)) as? [String: [String: Any]]) ?? [:]
        #expect(!results.isEmpty, "sftp_hostile printed no JSON: \(sftp.out.suffix(2000))")
        let sftpCases: [(key: String, input: String, expected: String, check: (String) -> Bool)] = [
            ("dotdot", "SFTP: open /inbox/../../../../etc/passwd", "refused (no such file), nothing outside the chroot",
             { $0.lowercased().contains("no such file") }),
            ("absolute", "SFTP: open /etc/passwd", "no such file (the chroot has only /inbox and /outbox)", { $0.lowercased().contains("no such file") }),
            ("dotdot-write", "SFTP: create /inbox/../outbox/../../escape.xml", "refused", { !$0.hasPrefix("ok") }),
            ("planted-symlink-dir", "SFTP: read /outbox/planted/passwd (planted link -> /etc)", "refused, link not followed", { !$0.hasPrefix("ok") }),
            ("planted-symlink-file", "SFTP: read /outbox/planted-file (planted link -> /etc/passwd)", "refused, link not followed", { !$0.hasPrefix("ok") }),
            ("planted-symlink-list", "SFTP: list /outbox with planted links", "links not listed", { $0 == "ok []" }),
            ("long-name", "SFTP: create a 5,000-byte name", "refused", { !$0.hasPrefix("ok") }),
            ("nul-byte", "SFTP: create a name with a NUL byte", "refused", { !$0.hasPrefix("ok") }),
            ("symlink-request", "SFTP: SYMLINK request", "permission denied: links cannot be created", { $0.contains("symbolic links cannot be created") }),
            ("unknown-type", "SFTP: unknown request type 250", "STATUS OP_UNSUPPORTED (8) for its id", { $0.hasPrefix("STATUS id=77 code=8") }),
            ("oversized-packet", "SFTP: packet declaring 100,000,000 bytes", "channel closed at once", { $0.hasPrefix("channel closed") }),
        ]
        for c in sftpCases {
            let r = results[c.key]
            let observed = r?["observed"] as? String ?? "missing"
            let s = r?["seconds"] as? Double ?? sftpSeconds
            rows.append(Row(input: c.input, expected: c.expected, observed: observed, seconds: s, limit: 5, pass: c.check(observed) && s <= 5))
        }
        // The daemon is still fine, and its memory stayed bounded through all of it.
        let pid = try #require(g.process?.processIdentifier)
        let peak = Self.peakRSS(pid)
        row("after all of the above", expected: "still healthy, peak RSS < 200 MB", limit: 5) {
            let health = try g.http("GET", "/healthz").status
            return ("healthz \(health), peak RSS \(peak / 1024) MB", health == 200 && peak > 0 && peak < 200 * 1024)
        }
        #expect(g.stop() == 0)

        var table = "| input | expected | observed | time (limit) | |\n|---|---|---|---|---|\n"
        for r in rows {
            table += "| \(r.input) | \(r.expected) | \(r.observed.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "\n", with: " ")) | "
                + "\(String(format: "%.2f", r.seconds)) s (\(Int(r.limit)) s) | \(r.pass ? "ok" : "FAIL") |\n"
        }
        print("hostile corpus:\n" + table)
        for r in rows { #expect(r.pass, "\(r.input): expected \(r.expected), observed \(r.observed) in \(r.seconds) s") }
    }
}

/// The recorded verdict (status, reasons) of the flux deposited as `file`, if any yet.
private func verdict(_ db: Database, _ file: String) throws -> (String, String)? {
    guard let r = try GRDB.Row.fetchOne(db, sql: "SELECT status, reasons FROM messages WHERE file_name = ?", arguments: [file]) else { return nil }
    return (r["status"], r["reasons"])
}
