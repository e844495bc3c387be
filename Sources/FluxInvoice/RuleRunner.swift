import Foundation

/// The seam between understanding and the rule sets: runs the business rules on one parsed
/// invoice and reports errors, warnings, the model and the profile.
enum RuleRunner {
    static func run(_ doc: XMLDoc, syntax: InvoiceSyntax) -> (errors: [Anomaly], warnings: [Anomaly], model: InvoiceModel) {
        InvoiceChecker.check(doc, syntax: syntax)
    }

    /// What F1 regulatory data is held to here: the identifiers it carries must be right (the
    /// AIFE F1 rule set itself is not implemented).
    static func identifierChecks(_ doc: XMLDoc, syntax: InvoiceSyntax) -> [Anomaly] {
        InvoiceChecker.check(doc, syntax: syntax).errors.filter { $0.rule.hasPrefix("FLUX-") }
    }
}
