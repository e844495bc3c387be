import Foundation
import GRDB
import Testing

/// The daemon's intake of every format: Factur-X PDFs, PPF envelopes (F1, F6 lifecycle), XSD.
@Suite(.serialized)
struct IntakeFormatsTests {
    @Test func facturXPDFIsAcceptedAndItsOriginalBatched() throws {
        let g = try GatewayHarness(acmeCompletion: "rename")
        try g.start()
        let pdf = GatewayHarness.corpus.appendingPathComponent("facturx-pdf/generated/facturx-FR-EN16931.pdf")
        let bytes = try Data(contentsOf: pdf)
        try g.deposit(bytes, name: "facture.pdf", viaRename: true)
        let docs = try g.waitForReceipts("facture.pdf.", count: 2)
        let all = try docs.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(all.contains("<ram:ProcessConditionCode>200</ram:ProcessConditionCode>"), "\(all)")
        #expect(all.contains("FA-2026-000123"))
        // the batch holds the PDF itself (the original), not the extracted XML
        let db = try g.db()
        let sha = try db.read { try String.fetchOne($0, sql: "SELECT sha256 FROM invoices WHERE number = 'FA-2026-000123'") }
        let pdfSha = try GatewayHarness.run("/usr/bin/sha256sum", [pdf.path]).out.prefix(64)
        #expect(sha.map { $0 == pdfSha } == true)
        let tail = try g.cli(["journal", "tail", "--company", "acme"])
        #expect(tail.out.contains("factur-x.xml in a PDF"), "\(tail.out)")
        // a PDF without an invoice inside is refused at flux level, by name
        try g.deposit(try Data(contentsOf: GatewayHarness.corpus.appendingPathComponent("negative/pdf/NEG-PDF-01_pdfa3-without-embedded-xml.pdf")),
                      name: "plain.pdf", viaRename: true)
        let refused = try g.waitForReceipts("plain.pdf.", count: 1)
        let text = try String(contentsOf: refused[0], encoding: .utf8)
        #expect(text.contains("<ram:ProcessConditionCode>501</ram:ProcessConditionCode>"))
        #expect(text.contains("IRR_TYPE_F"))
    }

    @Test func ppfEnvelopesAndLifecycleMessages() throws {
        let g = try GatewayHarness(acmeCompletion: "rename")
        try g.start()
        let env = GatewayHarness.corpus.appendingPathComponent("ppf-flux/envelopes")
        // F6 mandatory statuses: four CDAR messages, recognised and journalled with their status
        let f6 = "FFE0654A_AAA123_AAA1230654000000000000001.tar.gz"
        try g.deposit(try Data(contentsOf: env.appendingPathComponent(f6)), name: f6, viaRename: true)
        let docs = try g.waitForReceipts(f6 + ".", count: 1)
        #expect(try String(contentsOf: docs[0], encoding: .utf8).contains("<ram:ProcessConditionCode>500</ram:ProcessConditionCode>"))
        let tail = try g.cli(["journal", "tail", "--company", "acme", "-n", "50"])
        #expect(tail.out.contains("lifecycle"), "\(tail.out)")
        #expect(tail.out.contains("status 200"), "\(tail.out)")
        #expect(tail.out.contains("status 212"), "\(tail.out)")
        // a badly named envelope: IRR_FORM (written as the CDV-allowed IRR_NOM_F, original code in the text)
        let badDir = GatewayHarness.corpus.appendingPathComponent("negative/flux/NEG-FLUX-01_IRR_FORM_bad-envelope-name")
        let bad = "FFE0112A-AAA123-0001.tar.gz"
        try g.deposit(try Data(contentsOf: badDir.appendingPathComponent(bad)), name: bad, viaRename: true)
        let refused = try String(contentsOf: try g.waitForReceipts(bad + ".", count: 1)[0], encoding: .utf8)
        #expect(refused.contains("<ram:ProcessConditionCode>501</ram:ProcessConditionCode>"))
        #expect(refused.contains("IRR_FORM"))
        // tar-slip in an envelope: refused, nothing written outside
        let slipDir = GatewayHarness.corpus.appendingPathComponent("negative/flux/NEG-FLUX-07_tar-slip-path-traversal")
        let slip = "FFE0112A_AAA123_AAA1230112000000000000006.tar.gz"
        try g.deposit(try Data(contentsOf: slipDir.appendingPathComponent(slip)), name: slip, viaRename: true)
        let slipText = try String(contentsOf: try g.waitForReceipts(slip + ".", count: 1)[0], encoding: .utf8)
        #expect(slipText.contains("<ram:ProcessConditionCode>501</ram:ProcessConditionCode>"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/evil_Base_x.xml"))
        let oracle = try GatewayHarness.cdarOracle(docs + [try g.waitForReceipts(bad + ".", count: 1)[0]])
        #expect(oracle.ok, "\(oracle.out)")
    }

    @Test func xsdFindingsReachTheReceiptWhenSchemasAreConfigured() throws {
        let g = try GatewayHarness(acmeCompletion: "rename", schemas: true)
        try g.start()
        try g.deposit(try Data(contentsOf: GatewayHarness.corpus.appendingPathComponent("negative/invoices/NEG-02_missing-BT1_CII.xml")),
                      name: "nobt1.xml", viaRename: true)
        let docs = try g.waitForReceipts("nobt1.xml.", count: 2)
        let all = try docs.map { try String(contentsOf: $0, encoding: .utf8) }.joined()
        #expect(all.contains("<ram:ProcessConditionCode>213</ram:ProcessConditionCode>"))
        #expect(all.contains("XSD"), "\(all)")
        #expect(all.contains("BR-02"))
        try g.deposit(try GatewayHarness.invoice(number: "XSD-OK-1"), name: "good.xml", viaRename: true)
        let ok = try g.waitForReceipts("good.xml.", count: 2)
        #expect(try ok.map { try String(contentsOf: $0, encoding: .utf8) }.joined().contains("<ram:ProcessConditionCode>200</ram:ProcessConditionCode>"))
        let oracle = try GatewayHarness.cdarOracle(docs + ok)
        #expect(oracle.ok, "\(oracle.out)")
    }
}
