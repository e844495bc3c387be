import Foundation
import GRDB
import Testing

/// Completion modes, temp names, extra directories, SIGHUP reload, sd_notify, and tamper
/// detection from the command line, all against the real daemon.
@Suite(.serialized)
struct DropZoneModesTests {
    @Test func completionModesTempNamesAndExtraDirectories() throws {
        let g = try GatewayHarness(acmeCompletion: "trigger")
        let extra = g.root.appendingPathComponent("other-sftp-server/in")
        try FileManager.default.createDirectory(at: extra, withIntermediateDirectories: true)
        try """
            name = "ACHETEUR EXEMPLE SA"
            address = "2 avenue du Test, 69001 Lyon, FR"
            siren = "200000008"
            [dropzone]
            completion = "rename"
            extra_dirs = [{ path = "\(extra.path)", completion = "close" }]
            """.write(to: g.root.appendingPathComponent("etc/partners.d/globex.toml"), atomically: true, encoding: .utf8)
        try g.start()
        // trigger mode: the data file alone is not taken; NAME.ok makes it complete
        try g.deposit(try GatewayHarness.invoice(number: "TRG-1"), name: "t1.xml")
        Thread.sleep(forTimeInterval: 1.0)
        #expect(g.receipts("t1.xml.").isEmpty, "trigger mode must wait for t1.xml.ok")
        try Data().write(to: g.inbox().appendingPathComponent("t1.xml.ok"))
        _ = try g.waitForReceipts("t1.xml.", count: 2)
        try g.waitUntil(timeout: 5, "the trigger file to be consumed") {
            !FileManager.default.fileExists(atPath: g.inbox().appendingPathComponent("t1.xml.ok").path)
        }
        // rename mode: temp names are never processed, the final name is
        let part = g.inbox("globex").appendingPathComponent("r1.xml.part")
        try GatewayHarness.invoice(number: "REN-1").write(to: part)
        try GatewayHarness.invoice(number: "REN-2").write(to: g.inbox("globex").appendingPathComponent(".hidden.xml"))
        Thread.sleep(forTimeInterval: 1.0)
        #expect(FileManager.default.fileExists(atPath: part.path), "a .part file must stay untouched")
        try FileManager.default.moveItem(at: part, to: g.inbox("globex").appendingPathComponent("r1.xml"))
        _ = try g.waitForReceipts("r1.xml.", count: 2, partner: "globex")
        #expect(FileManager.default.fileExists(atPath: g.inbox("globex").appendingPathComponent(".hidden.xml").path))
        // an extra directory written by another server, close mode: cp-like write, then quiet period
        try GatewayHarness.invoice(number: "EXT-1").write(to: extra.appendingPathComponent("e1.xml"))
        _ = try g.waitForReceipts("e1.xml.", count: 2, partner: "globex")
        #expect(!FileManager.default.fileExists(atPath: extra.appendingPathComponent("e1.xml").path))
        // close mode does not take a file while a writer still holds it open
        let slow = extra.appendingPathComponent("slow.xml")
        // open(2) directly: FileManager.createFile writes to a temp name and renames, which is
        // a complete file by construction
        let rawFD = open(slow.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        #expect(rawFD >= 0)
        let fh = FileHandle(fileDescriptor: rawFD, closeOnDealloc: true)
        let data = try GatewayHarness.invoice(number: "SLOW-1")
        fh.write(data.prefix(100))
        try fh.synchronize()
        // a reader closing the file fires IN_CLOSE_WRITE only for writers; touch it via a second writer
        let other = try FileHandle(forWritingTo: slow)
        try other.close()
        Thread.sleep(forTimeInterval: 1.5)
        #expect(g.receipts("slow.xml.", partner: "globex").isEmpty, "a file still open for writing must not be taken")
        fh.write(data.dropFirst(100))
        try fh.close()
        _ = try g.waitForReceipts("slow.xml.", count: 2, partner: "globex")
        let all = try g.receipts("slow.xml.", partner: "globex").map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(all.contains("<ram:ProcessConditionCode>200</ram:ProcessConditionCode>"), "the whole file, not a piece, was taken")
    }

    @Test func sighupAddsAPartnerAndSystemdIsNotified() throws {
        let g = try GatewayHarness()
        // a NOTIFY_SOCKET the daemon reports to
        let sockPath = g.root.appendingPathComponent("notify.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in for (i, b) in sockPath.utf8.enumerated() { buf[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        func messages() -> String {
            var out = ""
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buf, buf.count, 0)
                if n <= 0 { return out }
                out += String(decoding: buf[0..<n], as: UTF8.self) + "\n"
            }
        }
        try g.start(environment: ["NOTIFY_SOCKET": sockPath])
        #expect(messages().contains("READY=1"))

        try """
            name = "NOUVEAU PARTENAIRE SARL"
            address = "3 place Neuve, 33000 Bordeaux, FR"
            [dropzone]
            completion = "rename"
            """.write(to: g.root.appendingPathComponent("etc/partners.d/newco.toml"), atomically: true, encoding: .utf8)
        g.signal(SIGHUP)
        try g.waitUntil(timeout: 10, "the new partner's inbox") { FileManager.default.fileExists(atPath: g.inbox("newco").path) }
        try g.deposit(try GatewayHarness.invoice(number: "NEW-1"), name: "n1.xml", partner: "newco", viaRename: true)
        _ = try g.waitForReceipts("n1.xml.", count: 2, partner: "newco")
        let partners = try g.cli(["partners", "list"])
        #expect(partners.out.contains("newco"))
        // an invalid config on SIGHUP is refused and the gateway keeps running
        try "name = 1\n".write(to: g.root.appendingPathComponent("etc/partners.d/broken.toml"), atomically: true, encoding: .utf8)
        g.signal(SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try g.http("GET", "/healthz").status == 200)
        try FileManager.default.removeItem(at: g.root.appendingPathComponent("etc/partners.d/broken.toml"))
        #expect(g.stop() == 0)
        #expect(messages().contains("STOPPING=1"))
    }

    @Test func underSystemdJournalEntriesGoToTheNativeJournalSocket() throws {
        let g = try GatewayHarness(acmeCompletion: "rename")
        let path = g.root.appendingPathComponent("journal.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in for (i, b) in path.utf8.enumerated() { buf[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(bound == 0)
        var tv = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        try g.start(environment: ["JOURNAL_STREAM": "8:1234", "FLUX_JOURNAL_SOCKET": path])
        try g.deposit(try GatewayHarness.invoice(number: "JRNL-1"), name: "j1.xml", viaRename: true)
        _ = try g.waitForReceipts("j1.xml.", count: 2)
        var datagrams: [String] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<200 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            datagrams.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
        let invoice = datagrams.first { $0.contains("FLUX_KIND=invoice") }
        let entry = try #require(invoice, "no journal event for the invoice among \(datagrams.count) datagrams")
        #expect(entry.contains("FLUX_COMPANY=acme\n"))
        #expect(entry.contains("FLUX_STATUS=accepted\n"))
        #expect(entry.contains("FLUX_INVOICE_NUMBER=JRNL-1\n"))
        #expect(entry.contains("FLUX_MESSAGE_ID="))
        #expect(entry.contains("PRIORITY=6\n"))
        #expect(entry.contains("SYSLOG_IDENTIFIER=flux-gateway\n"))
        #expect(entry.hasPrefix("MESSAGE=journal received invoice accepted\n"))
        #expect(g.stop() == 0)
    }

    @Test func journalVerifyNamesTheTamperedEntry() throws {
        let g = try GatewayHarness(acmeCompletion: "rename")
        try g.start()
        for i in 1...3 { try g.deposit(try GatewayHarness.invoice(number: "TAMP-\(i)"), name: "x\(i).xml", viaRename: true) }
        for i in 1...3 { _ = try g.waitForReceipts("x\(i).xml.", count: 2) }
        #expect(g.stop() == 0)
        #expect(try g.cli(["journal", "verify"]).status == 0)
        let path = g.state.appendingPathComponent("gateway.sqlite").path
        let q = try DatabaseQueue(path: path)
        // the triggers refuse edits...
        #expect(throws: (any Error).self) { try q.write { try $0.execute(sql: "UPDATE journal SET amount_with_vat = '1.00' WHERE seq = 2") } }
        // ...and whoever drops them is caught by the chain
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER journal_no_update")
            try db.execute(sql: "UPDATE journal SET amount_with_vat = '1.00' WHERE company = 'acme' AND seq = 6")
        }
        try q.close()
        let r = try g.cli(["journal", "verify"])
        #expect(r.status == 1)
        #expect(r.out.contains("acme entry #6"), "\(r.out)")
    }
}
