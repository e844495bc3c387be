import Foundation
import GRDB
import Testing

/// Receipts are written by the deliverer's threads once their deposit is committed
/// (`ReceiptDeliverer`). A graceful stop must leave no committed receipt unwritten or unmarked,
/// and a burst larger than the deliverer's threads must still give every deposit its receipt,
/// each file once.
@Suite(.serialized)
struct ReceiptDeliveryTests {
    @Test func gracefulStopWritesAndMarksEveryCommittedReceipt() throws {
        let g = try GatewayHarness(maxInvoices: 500, quiet: "50ms", acmeCompletion: "rename")
        try g.start()
        let names = (0..<300).map { "burst-\($0).xml" }
        for (i, n) in names.enumerated() {
            try g.deposit(try GatewayHarness.invoice(number: "BURST-\(i)"), name: n, viaRename: true)
        }
        // SIGTERM while the burst is being processed: the intake finishes what it has taken,
        // and the receipts still queued in the deliverer must be written and marked before the
        // process exits (without the wait for the deliverer, 4 stayed unmarked here).
        try g.waitUntil(timeout: 30, "a first deposit to be committed") {
            (try g.db().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0 }) > 0
        }
        #expect(g.stop() == 0)
        let (committed, unmarked) = try g.db().read { db in
            (try String.fetchAll(db, sql: "SELECT file_name FROM messages"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipts WHERE delivered_at IS NULL") ?? -1)
        }
        print("graceful stop: \(committed.count) of \(names.count) deposits committed at the stop")
        #expect(!committed.isEmpty)
        #expect(unmarked == 0, "every committed receipt written and marked before the process exits")
        for n in committed { #expect(g.receipts(n + ".").count == 2, "\(n): flux document and invoice document") }

        // The rest after a restart; nothing written twice (one flux and one invoice document
        // each, every .p7s beside its document).
        try g.start()
        try g.waitUntil(timeout: 60, "every deposit to be answered") {
            names.allSatisfy { g.receipts($0 + ".").count == 2 }
        }
        _ = g.stop()
        let outbox = try FileManager.default.contentsOfDirectory(atPath: g.outbox().path).filter { !$0.hasPrefix(".") }
        #expect(outbox.count == names.count * 4, "\(outbox.count) files for \(names.count) deposits")
        #expect(outbox.filter { $0.hasSuffix(".p7s") }.allSatisfy { outbox.contains(String($0.dropLast(4))) })
        let left = try g.db().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM receipts WHERE delivered_at IS NULL") ?? -1 }
        #expect(left == 0)
        for r in g.receipts("burst-1.").prefix(2) { #expect(try g.opensslVerify(r)) }
    }
}
