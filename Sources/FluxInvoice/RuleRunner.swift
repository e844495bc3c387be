import Foundation

/// The seam between understanding and the rule sets: runs the business rules on one parsed
/// invoice and reports errors, warnings and the profile.
enum RuleRunner {
    static func run(_ doc: XMLDoc, syntax: InvoiceSyntax, facts: InvoiceFacts) -> (errors: [Anomaly], warnings: [Anomaly], profile: String?) {
        (InvoiceChecker.check(facts), [], nil)
    }

    /// What F1 regulatory data is held to here: its identifiers must be right.
    static func identifierChecks(_ facts: InvoiceFacts) -> [Anomaly] {
        InvoiceChecker.check(facts).filter { $0.rule.hasPrefix("FLUX-") || $0.rule.hasPrefix("BR-FR-1") }
    }
}
