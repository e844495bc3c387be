import Foundation
import Testing

/// `flux-gateway validate` over the whole shared corpus, file by file, against what the official
/// oracle (XSD + EN 16931 1.3.16 + FNFE BR-FR + Factur-X + CDAR Schematron) recorded in
/// `corpus/MANIFEST.tsv`. Accept/reject must agree wherever our checks cover the failing rules,
/// and every official id we report must be one the oracle reported.
@Suite(.serialized)
struct CorpusAgreementTests {
    /// The oracle's record for one file.
    struct OracleRecord {
        var path: String
        var kind: String
        var failed: Bool
        /// Official rule ids from the layers we implement (XSD, EN 16931, BR-FR), as listed.
        var ids: Set<String>
        /// The manifest cut the list ("…"): ids beyond those shown are unknown.
        var truncated: Bool
        /// Layers that failed which we do not implement (Factur-X Schematron, F1 rules).
        var uncoveredLayers: [String]
        var xsdFailed: Bool
    }

    /// The gateway's checks beyond the official rules.
    static let beyondOfficial: Set<String> = ["FLUX-SIREN-KEY", "FLUX-SIRET-KEY", "FLUX-VAT-KEY", "FLUX-DUPLICATE"]

    static func parseManifest() throws -> [OracleRecord] {
        let text = try String(contentsOf: GatewayHarness.corpus.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        var out: [OracleRecord] = []
        for line in text.split(separator: "\n").dropFirst() {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard cols.count >= 4 else { continue }
            let results = cols.count > 4 ? cols[4] : ""
            var rec = OracleRecord(path: cols[0], kind: cols[3], failed: false, ids: [], truncated: false, uncoveredLayers: [], xsdFailed: false)
            if cols[3].hasPrefix("unsupported-root") || cols[3].contains("+unsupported-root") || ["not-well-formed", "empty", "xml-with-DTD"].contains(cols[3]) {
                rec.failed = true
                rec.truncated = true  // the oracle ran no rules: which ids would fire is unknown
            }
            // fields like "en16931=FAIL(BR-16,BR-CO-10,…)" or "xsd=OK"; values may hold spaces inside (...)
            var fields: [String] = []
            var depth = 0
            var cur = ""
            for ch in results {
                if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
                if ch == " " && depth == 0 { fields.append(cur); cur = "" } else { cur.append(ch) }
            }
            if !cur.isEmpty { fields.append(cur) }
            for f in fields {
                guard let eq = f.firstIndex(of: "=") else { continue }
                let layer = String(f[..<eq])
                let value = String(f[f.index(after: eq)...])
                let failed = value.hasPrefix("FAIL") || value.hasPrefix("REJECT") || value == "NONE"
                guard failed else { continue }
                rec.failed = true
                let inner = value.firstIndex(of: "(").map { String(value[value.index(after: $0)...].dropLast()) } ?? ""
                switch layer {
                case "xsd", "xml-xsd":
                    rec.xsdFailed = true
                case "en16931", "br-fr", "xml-en16931", "xml-br-fr":
                    for id in inner.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                        if id == "…" { rec.truncated = true } else if !id.isEmpty { rec.ids.insert(id) }
                    }
                case "fx-xsd", "fx-sch", "xml-fx-xsd", "xml-fx-sch", "f1", "cdv":
                    rec.uncoveredLayers.append(layer)
                default:
                    break  // parse, envelope, content, paths, f1-names, pdf, embedded: flux-level refusals
                }
            }
            out.append(rec)
        }
        return out
    }

    @Test func validateAgreesWithTheOfficialOracleOnTheCorpus() throws {
        let records = try Self.parseManifest()
        #expect(records.count > 100, "the manifest lists the corpus")
        let implemented = Set(try GatewayHarness.run(GatewayHarness.binary, ["validate", "--list-rules"]).out.split(separator: "\n").map(String.init))
        #expect(implemented.count > 100)
        let paths = records.map { GatewayHarness.corpus.appendingPathComponent($0.path).path }
        let r = try GatewayHarness.run(GatewayHarness.binary,
                                       ["validate", "--json", "--schemas", GatewayHarness.corpus.appendingPathComponent("schemas").path] + paths)
        var ours: [String: (ok: Bool, ids: [String])] = [:]
        for line in r.out.split(separator: "\n") {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = obj["path"] as? String, let ok = obj["ok"] as? Bool, let ids = obj["rules"] as? [String] else { continue }
            ours[path] = (ok, ids)
        }
        #expect(ours.count == records.count, "one verdict per file")

        var rows: [String] = []
        var agree = 0, covered = 0, disagreements: [String] = [], extraIDs: [String] = []
        for (rec, path) in zip(records, paths) {
            guard let mine = ours[path] else { continue }
            // Our official ids (the gateway's own FLUX-*, PPF-* and XSD findings aside)
            let official = Set(mine.ids.filter { !$0.hasPrefix("FLUX-") && !$0.hasPrefix("PPF-") && $0 != "XSD" })
            // Checks beyond the official rules (check digits, duplicates) may reject what the
            // oracle accepts; the comparison is on everything else.
            let gatewayOnly = mine.ids.filter { Self.beyondOfficial.contains($0) }
            let mineFails = mine.ids.contains { !Self.beyondOfficial.contains($0) }
            let extra = rec.truncated ? [] : official.subtracting(rec.ids).sorted()
            let missing = rec.ids.subtracting(official).sorted()
            // Covered: every failing layer is one we implement and every listed id is implemented.
            let isCovered = rec.uncoveredLayers.isEmpty && rec.ids.isSubset(of: implemented)
                || (mineFails && rec.failed)  // both reject: agreement whatever the cause
            let same = mineFails == rec.failed
            if isCovered { covered += 1 }
            if same { agree += 1 }
            if isCovered && !same { disagreements.append(rec.path) }
            if !extra.isEmpty { extraIDs.append("\(rec.path): \(extra.joined(separator: ","))") }
            let name = (rec.path as NSString).lastPathComponent
            rows.append("\(name.padding(toLength: 52, withPad: " ", startingAt: 0)) oracle \(rec.failed ? "FAIL" : "OK  ") ours \(mineFails ? "FAIL" : "OK  ")"
                        + (gatewayOnly.isEmpty ? "" : "  (+ gateway checks \(gatewayOnly.joined(separator: ",")))")
                        + (same ? "" : isCovered ? "  DISAGREE" : "  (not covered: \(rec.uncoveredLayers.joined(separator: ",")))")
                        + (missing.isEmpty ? "" : "  missing \(missing.joined(separator: ","))")
                        + (extra.isEmpty ? "" : "  EXTRA \(extra.joined(separator: ","))"))
        }
        print("corpus agreement (flux-gateway validate vs MANIFEST.tsv):")
        for row in rows { print("  " + row) }
        print("corpus agreement: \(records.count) files, \(agree) same verdict, \(covered) covered, \(disagreements.count) disagreements on covered files, \(extraIDs.count) files with ids the oracle did not report")
        #expect(disagreements.isEmpty, "verdicts differ on covered files: \(disagreements)")
        #expect(extraIDs.isEmpty, "ids the oracle did not report: \(extraIDs)")
    }
}
