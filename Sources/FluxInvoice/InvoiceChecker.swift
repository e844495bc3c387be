import FluxCore
import Foundation

/// The business checks run on every invoice: the EN 16931 1.3.16 core rules, the French FNFE
/// BR-FR Flux 2 v1.4.0.03 rules (reproduced natively with their official ids, see `Rules/`) and
/// the gateway's own identifier checks (`FLUX-SIREN-KEY`, `FLUX-SIRET-KEY`, `FLUX-VAT-KEY`).
///
/// The document is read once into an `InvoiceModel`; every rule then runs in Swift on the model.
public enum InvoiceChecker {
    /// All findings for one parsed invoice document (UBL or CII), official ids first; severity
    /// warning findings are returned separately (they do not reject). A CDAR document gets no
    /// findings and an empty model.
    public static func check(_ doc: XMLDoc, syntax: InvoiceSyntax) -> (errors: [Anomaly], warnings: [Anomaly], model: InvoiceModel) {
        guard syntax.isInvoice else { return ([], [], InvoiceModel(syntax: syntax)) }
        let (model, facts) = InvoiceModelExtractor.extractWithFacts(doc, syntax: syntax)
        let r = RuleEngine.run(model: model, facts: facts)
        return (r.errors, r.warnings, model)
    }

    /// Every rule id `check` can report (official EN 16931 / BR-FR ids and the gateway's `FLUX-*`).
    public static var implementedRuleIDs: Set<String> { RuleEngine.implementedRuleIDs }

    /// YYYY-MM-DD naming a real calendar day.
    static func isISODate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard s.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1900...2999).contains(y), (1...12).contains(m) else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return (1...days).contains(d)
    }
}
