import Foundation

/// The seam between understanding and the rule sets: runs the business rules on one parsed
/// invoice and reports errors, warnings, the model and the profile.
enum RuleRunner {
    static func run(_ doc: XMLDoc, syntax: InvoiceSyntax) -> (errors: [Anomaly], warnings: [Anomaly], model: InvoiceModel) {
        InvoiceChecker.check(doc, syntax: syntax)
    }
}
