import Foundation
import Testing

/// ERPs reuse their file names, and an outbox keeps every receipt until the partner deletes it:
/// each deposit's receipts must get names of their own, and each name must lead to its journal
/// entries.
@Suite(.serialized)
struct ReceiptNamingTests {
    @Test func depositsOfOneNameKeepEveryReceiptAndNameTheMessage() throws {
        let g = try GatewayHarness()
        try g.start()
        for (i, number) in ["SAME-1", "SAME-2", "SAME-3"].enumerated() {
            try g.deposit(try GatewayHarness.invoice(number: number), name: "facture.xml")
            _ = try g.waitForReceipts("facture.xml.", count: 2 * (i + 1))
        }
        let names = g.receipts("facture.xml.").map(\.lastPathComponent)
        #expect(names.count == 6, "\(names)")
        let ids = Set(names.map { name -> String in
            let rest = name.dropFirst("facture.xml.".count).dropLast(".cdar.xml".count)
            return String(rest.hasSuffix("-001") ? rest.dropLast(4) : rest)
        })
        #expect(ids.count == 3, "three deposits, three message ids: \(ids)")
        let texts = try g.receipts("facture.xml.").map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        for n in ["SAME-1", "SAME-2", "SAME-3"] { #expect(texts.contains(n), "the receipt of \(n) was replaced") }
        let csv = try g.cli(["journal", "export", "--company", "acme", "--format", "csv"]).out
        for id in ids {
            #expect(UUID(uuidString: id) != nil, "a receipt name carries the whole message id, got \(id)")
            #expect(csv.contains(id), "message id \(id) of a receipt name is in the journal")
        }
        #expect(g.stop() == 0)
    }
}
