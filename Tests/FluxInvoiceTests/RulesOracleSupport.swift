import FluxCore
@testable import FluxInvoice
import FluxTestSupport
import Foundation

/// Runs `scripts/oracle/invoice_check.py` (lxml XSD + saxonche over the official EN 16931 and
/// FNFE BR-FR Schematron XSLTs) once over many files, and our `InvoiceChecker` over the same.
enum InvoiceOracle {
    struct Verdict {
        var syntax: String
        var xsd: [String]
        var en16931: Set<String>
        var brfr: Set<String>
        /// Set when the oracle could not check the file (not well-formed, DOCTYPE, unsupported root).
        var error: String?

        var fatalIDs: Set<String> { en16931.union(brfr) }
        var rejects: Bool { error != nil || !xsd.isEmpty || !fatalIDs.isEmpty }
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    static let repo: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `$FLUX_PYTHON`, else `<repo>/.venv/bin/python`; a missing interpreter is an error that
    /// says how to create it (the accuracy tests never skip).
    static func python() throws -> String {
        let candidate = ProcessInfo.processInfo.environment["FLUX_PYTHON"] ?? repo.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw SetupError(description: "the validation oracle needs Python with saxonche and lxml: run scripts/setup-venv (looked for \(candidate); or set FLUX_PYTHON)")
        }
        return candidate
    }

    /// One oracle run over `files` (absolute paths), keyed by path.
    static func run(_ files: [String]) throws -> [String: Verdict] {
        let py = try python()
        let script = repo.appendingPathComponent("scripts/oracle/invoice_check.py").path
        let out: Data
        do {
            out = try FluxTestSupport.run(py, [script] + files, in: repo)
        } catch {
            throw SetupError(description: "the oracle failed (run scripts/setup-venv?): \(error)")
        }
        var verdicts: [String: Verdict] = [:]
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            guard let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let path = obj["path"] as? String else { continue }
            verdicts[path] = Verdict(
                syntax: obj["syntax"] as? String ?? "",
                xsd: obj["xsd"] as? [String] ?? [],
                en16931: Set(obj["en16931"] as? [String] ?? []),
                brfr: Set(obj["brfr"] as? [String] ?? []),
                error: obj["error"] as? String)
        }
        guard verdicts.count == files.count else {
            throw SetupError(description: "the oracle answered for \(verdicts.count) of \(files.count) files")
        }
        return verdicts
    }

    /// Our verdict for one file: nil ids when the file is refused before the rules (parse or
    /// unsupported syntax), like the oracle's `error`.
    struct Ours {
        var refused: String?
        var errors: [Anomaly] = []
        var warnings: [Anomaly] = []
        var ids: Set<String> { Set(errors.map(\.rule)) }
        /// Official ids only (the gateway's own FLUX-* ids are never in the oracle's output).
        var officialIDs: Set<String> { ids.filter { !$0.hasPrefix("FLUX-") } }
        var rejects: Bool { refused != nil || !errors.isEmpty }
        /// The verdict of the official rules alone (what the oracle can agree with).
        var officialRejects: Bool { refused != nil || !officialIDs.isEmpty }
        /// The gateway's own findings (check digits), beyond the oracle.
        var ownIDs: Set<String> { ids.filter { $0.hasPrefix("FLUX-") } }
    }

    static func ours(_ path: String) -> Ours {
        guard let data = FileManager.default.contents(atPath: path) else { return Ours(refused: "unreadable") }
        return ours(data: data, name: (path as NSString).lastPathComponent)
    }

    static func ours(data: Data, name: String) -> Ours {
        let doc: XMLDoc
        do { doc = try XMLDoc.parse(data, name: name) } catch { return Ours(refused: error.code) }
        guard let root = doc.root else { return Ours(refused: "no root") }
        switch InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace) {
        case .failure(let u): return Ours(refused: u.name)
        case .success(let syntax):
            guard syntax.isInvoice else { return Ours(refused: "not an invoice") }
            let r = InvoiceChecker.check(doc, syntax: syntax)
            return Ours(refused: nil, errors: r.errors, warnings: r.warnings)
        }
    }

    /// One row of an agreement table.
    struct Row {
        var name: String
        var oracle: Verdict
        var ours: Ours
        var covered: Bool
        var missing: Set<String>
        var extra: Set<String>
        var verdictAgrees: Bool { oracle.rejects == ours.officialRejects }
    }

    static func compare(name: String, oracle: Verdict, ours: Ours, implemented: Set<String>) -> Row {
        let oracleIDs = oracle.fatalIDs
        // Covered: every failing official rule is one we implement, and an XSD-only failure
        // (no Schematron id) is outside what the rules can see.
        let covered = oracle.error != nil || (oracleIDs.isSubset(of: implemented) && !(oracleIDs.isEmpty && !oracle.xsd.isEmpty))
        let mine = ours.officialIDs
        return Row(name: name, oracle: oracle, ours: ours, covered: covered,
                   missing: oracleIDs.intersection(implemented).subtracting(mine),
                   extra: mine.subtracting(oracleIDs))
    }

    static func verdictText(_ v: Verdict) -> String {
        if let e = v.error { return "REFUSED(\(e.prefix(30)))" }
        if !v.rejects { return "OK" }
        return "FAIL" + (v.xsd.isEmpty ? "" : "+xsd")
    }

    static func printTable(_ title: String, _ rows: [Row]) {
        print("=== \(title) ===")
        print(pad("file", 58) + " | " + pad("oracle", 10) + " | " + pad("ours", 10) + " | cov | ids missing | ids extra | own (FLUX-*)")
        for r in rows {
            let ours = r.ours.refused.map { "REFUSED(\($0.prefix(20)))" } ?? (r.ours.officialRejects ? "FAIL" : "OK")
            print(pad(r.name, 58) + " | " + pad(verdictText(r.oracle), 10) + " | " + pad(ours, 10) + " | "
                + (r.covered ? "yes" : " no") + " | " + r.missing.sorted().joined(separator: ",") + " | " + r.extra.sorted().joined(separator: ",")
                + " | " + r.ours.ownIDs.sorted().joined(separator: ","))
        }
        let covered = rows.filter(\.covered)
        print("files: \(rows.count), covered: \(covered.count), verdict agrees (all): \(rows.filter(\.verdictAgrees).count), "
            + "verdict agrees (covered): \(covered.filter(\.verdictAgrees).count), exact ids (covered): \(covered.filter { $0.missing.isEmpty && $0.extra.isEmpty }.count), "
            + "with extra ids: \(rows.filter { !$0.extra.isEmpty }.count), with own FLUX-* findings: \(rows.filter { !$0.ours.ownIDs.isEmpty }.count)")
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n)) : s + String(repeating: " ", count: n - s.count)
    }
}
