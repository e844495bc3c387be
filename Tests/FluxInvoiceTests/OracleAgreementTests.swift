@testable import FluxInvoice
import Foundation
import Testing

/// Accuracy of the native rules against the official oracle (XSD + EN 16931 1.3.16 + FNFE
/// BR-FR Flux 2 v1.4.0.03 Schematron, run by `scripts/oracle/invoice_check.py`) on every XML
/// invoice of the shared corpus: same accept/reject on each file whose failing official rules we
/// all implement, and never an official id the oracle does not report.
@Suite("Oracle agreement on the corpus", .serialized)
struct OracleAgreementTests {
    /// Every XML invoice of the corpus (not the unit-test sets), plus the XML negatives.
    static func corpusFiles() throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        let invoices = Corpus.path("invoices")
        guard let walker = fm.enumerator(atPath: invoices) else { return [] }
        while let rel = walker.nextObject() as? String {
            if rel.hasPrefix("en16931-official/unit-tests") { continue }
            if rel.lowercased().hasSuffix(".xml") { out.append(invoices + "/" + rel) }
        }
        out += try Corpus.files("negative/invoices") { $0.lowercased().hasSuffix(".xml") }
        return out.sorted()
    }

    @Test("accept/reject agrees with the oracle on every covered corpus file; our ids ⊆ oracle ids")
    func corpusAgreement() throws {
        let files = try Self.corpusFiles()
        #expect(files.count > 60)
        let oracle = try InvoiceOracle.run(files)
        let implemented = InvoiceChecker.implementedRuleIDs
        var rows: [InvoiceOracle.Row] = []
        for f in files {
            let v = try #require(oracle[f], "no oracle answer for \(f)")
            let name = f.replacingOccurrences(of: Corpus.root + "/", with: "")
            rows.append(InvoiceOracle.compare(name: name, oracle: v, ours: InvoiceOracle.ours(f), implemented: implemented))
        }
        InvoiceOracle.printTable("corpus agreement", rows)
        for r in rows {
            #expect(r.extra.isEmpty, "\(r.name): we report \(r.extra.sorted()) which the oracle does not (oracle: \(r.oracle.fatalIDs.sorted()))")
            if r.covered {
                #expect(r.verdictAgrees, "\(r.name): oracle \(InvoiceOracle.verdictText(r.oracle)) \(r.oracle.fatalIDs.sorted()), ours \(r.ours.ids.sorted()) \(r.ours.refused ?? "")")
            }
        }
        // The French samples and the official examples carry the bulk of the French rules: keep
        // the covered share high so that a rule regression cannot hide behind "not covered".
        #expect(rows.filter(\.covered).count * 10 >= rows.count * 9, "fewer than 90% of the corpus files are covered")
    }

    @Test("every fr-generated EN16931 sample passes with no finding")
    func frenchSamplesClean() throws {
        for rel in [Corpus.frCII, Corpus.frUBL, "invoices/fr-generated/FR-CII-BASIC.xml"] {
            let ours = InvoiceOracle.ours(Corpus.path(rel))
            #expect(ours.refused == nil && ours.errors.isEmpty && ours.warnings.isEmpty, "\(rel): \(ours.errors)")
        }
    }
}
