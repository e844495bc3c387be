@testable import FluxInvoice
import Foundation
import Testing

/// Development aid: with FLUX_RULES_DUMP_DIR set, writes our findings for every XML file of that
/// folder as JSON lines to FLUX_RULES_DUMP_OUT (compare with scripts/oracle/invoice_check.py).
@Suite("Rules dump (development aid)")
struct RulesDevDumpTests {
    @Test("dump findings of a folder when asked")
    func dump() throws {
        let env = ProcessInfo.processInfo.environment
        guard let dir = env["FLUX_RULES_DUMP_DIR"], let outPath = env["FLUX_RULES_DUMP_OUT"] else { return }
        var out = ""
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".xml") {
            let ours = InvoiceOracle.ours(dir + "/" + name)
            let obj: [String: Any] = ["path": dir + "/" + name, "refused": ours.refused ?? "", "ids": ours.ids.sorted()]
            out += String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self) + "\n"
        }
        try out.write(toFile: outPath, atomically: true, encoding: .utf8)
        try InvoiceChecker.implementedRuleIDs.sorted().joined(separator: "\n").write(toFile: outPath + ".ids", atomically: true, encoding: .utf8)
    }
}
