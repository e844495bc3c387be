import Foundation
import GRDB
import Testing

/// SIGKILL at varied moments while deposits flow; after each restart every deposit that has a
/// receipt is recorded and batched exactly once, and every deposit without one is processed.
@Suite(.serialized)
struct CrashSafetyTests {
    @Test func killNineLosesAndDuplicatesNothing() throws {
        let g = try GatewayHarness(maxInvoices: 3, acmeCompletion: "rename")
        try g.start()
        let kills = 6
        let perRound = 8
        var names: [String] = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<kills {
            for i in 0..<perRound {
                let name = "k\(round)-\(i).xml"
                names.append(name)
                try g.deposit(try GatewayHarness.invoice(number: "KILL-\(round)-\(i)"), name: name, viaRename: true)
            }
            // kill somewhere between "nothing processed yet" and "all processed"
            Thread.sleep(forTimeInterval: Double.random(in: 0.0...0.6, using: &rng))
            g.kill9()
            try g.start()
        }
        try g.waitUntil(timeout: 60, "every deposit to be answered") {
            let inbox = (try? FileManager.default.contentsOfDirectory(atPath: g.inbox().path)) ?? []
            return inbox.isEmpty && names.allSatisfy { g.receipts($0 + ".").count == 2 }
        }
        let db = try g.db()
        var lost = 0
        var duplicated = 0
        try db.read { db in
            for n in names {
                let messages = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE file_name = ?", arguments: [n])!
                let batched = try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM batch_invoices bi JOIN invoices i ON i.id = bi.invoice_id JOIN messages m ON m.id = i.message_id
                    WHERE m.file_name = ?
                    """, arguments: [n])!
                if messages == 0 || batched == 0 { lost += 1 }
                if messages > 1 || batched > 1 { duplicated += 1 }
            }
            let rejected = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoices WHERE status != 'accepted'")!
            #expect(rejected == 0, "no invoice may be re-read as a duplicate of itself")
        }
        // nothing stays claimed, and every receipt verifies
        let claimed = (try? FileManager.default.contentsOfDirectory(atPath: g.state.appendingPathComponent("dropzones/acme/.claimed").path)) ?? []
        #expect(claimed.isEmpty)
        for n in names.prefix(5) { for r in g.receipts(n + ".") { #expect(try g.opensslVerify(r)) } }
        let verify = try g.cli(["journal", "verify"])
        #expect(verify.status == 0, "\(verify.out)")
        print("crash test: \(kills) kills, \(lost) lost, \(duplicated) duplicated, \(names.count) deposits")
        #expect(lost == 0 && duplicated == 0)
    }
}
