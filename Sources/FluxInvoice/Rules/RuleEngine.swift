import Foundation

/// Runs every rule family over one `InvoiceModel`. Rules are plain Swift over the model (no
/// XPath at check time); each reproduces an official Schematron assertion with its id, or is
/// one of ours (`FLUX-*`).
enum RuleEngine {
    /// A family of rules: the ids it can report and the function that checks them.
    struct Family: Sendable {
        var name: String
        var ruleIDs: [String]
        var run: @Sendable (RuleContext) -> Void
    }

    /// All families, official EN 16931 first, then French, then the gateway's own.
    static let families: [Family] = [
        Family(name: "core", ruleIDs: CoreRules.ruleIDs, run: CoreRules.check),
        Family(name: "totals", ruleIDs: TotalsRules.ruleIDs, run: TotalsRules.check),
        Family(name: "vat-category", ruleIDs: VATCategoryRules.ruleIDs, run: VATCategoryRules.check),
        Family(name: "code-lists", ruleIDs: CodeListRules.ruleIDs, run: CodeListRules.check),
        Family(name: "syntax", ruleIDs: SyntaxRules.ruleIDs, run: SyntaxRules.check),
        Family(name: "french", ruleIDs: FrenchRules.ruleIDs, run: FrenchRules.check),
        Family(name: "french-coherence", ruleIDs: FrenchCoherenceRules.ruleIDs, run: FrenchCoherenceRules.check),
        Family(name: "identifiers", ruleIDs: IdentifierRules.ruleIDs, run: IdentifierRules.check),
    ]

    /// Every rule id the engine can report (official ids and ours).
    static let implementedRuleIDs: Set<String> = Set(families.flatMap(\.ruleIDs))

    /// Runs all families; findings come back in family order (official ids first).
    static func run(model: InvoiceModel, facts: ExtractionFacts) -> (errors: [Anomaly], warnings: [Anomaly]) {
        let ctx = RuleContext(model: model, facts: facts)
        for f in families { f.run(ctx) }
        ctx.summariseSuppressed()
        return (ctx.errors, ctx.warnings)
    }
}

/// The CDAR 213 reason a finding maps to.
enum RejectReason: String {
    /// Mandatory term missing, bad format or code: "REJ_SEMAN".
    case semantic = "REJ_SEMAN"
    /// Arithmetic or cross-field coherence: "REJ_COH".
    case coherence = "REJ_COH"
}

/// What one rule run sees and where its findings go. A class so that the lazily built message
/// and location of a finding may read the context while the finding is recorded.
final class RuleContext {
    let model: InvoiceModel
    let facts: ExtractionFacts
    let cii: Bool
    let paths: RulePaths
    private(set) var errors: [Anomaly] = []
    private(set) var warnings: [Anomaly] = []
    /// Findings per rule id (errors and warnings counted apart), to cap each rule's list.
    private var counts: [String: (error: Int, warning: Int, reason: RejectReason)] = [:]

    /// At most this many findings of one rule are listed in full; the rest are counted and
    /// summed up in one more finding of the same id. A 100,000-line invoice with the same fault
    /// on every line gives 11 findings, not 100,000 (memory, receipts and journal stay bounded),
    /// and the set of rule ids reported is unchanged.
    static let maxListedPerRule = 10

    init(model: InvoiceModel, facts: ExtractionFacts) {
        self.model = model
        self.facts = facts
        self.cii = model.syntax == .cii
        self.paths = RulePaths(syntax: model.syntax)
    }

    /// An error: the invoice is rejected.
    func fail(_ rule: String, _ reason: RejectReason, _ message: @autoclosure () -> String, at location: @autoclosure () -> String?) {
        let n = (counts[rule]?.error ?? 0) + 1
        counts[rule, default: (0, 0, reason)].error = n
        guard n <= Self.maxListedPerRule else { return }
        errors.append(Anomaly(rule: rule, reasonCode: reason.rawValue, message: message(), location: location()))
    }

    /// A warning: reported, does not reject.
    func warn(_ rule: String, _ reason: RejectReason, _ message: @autoclosure () -> String, at location: @autoclosure () -> String?) {
        let n = (counts[rule]?.warning ?? 0) + 1
        counts[rule, default: (0, 0, reason)].warning = n
        guard n <= Self.maxListedPerRule else { return }
        warnings.append(Anomaly(rule: rule, reasonCode: reason.rawValue, message: message(), location: location()))
    }

    /// One closing finding per capped rule: how many were left out.
    func summariseSuppressed() {
        let cap = Self.maxListedPerRule
        for (rule, c) in counts.sorted(by: { $0.key < $1.key }) {
            if c.error > cap {
                errors.append(Anomaly(rule: rule, reasonCode: c.reason.rawValue, message: "\(c.error - cap) more findings of \(rule) not listed (\(c.error) in all)", location: nil))
            }
            if c.warning > cap {
                warnings.append(Anomaly(rule: rule, reasonCode: c.reason.rawValue, message: "\(c.warning - cap) more findings of \(rule) not listed (\(c.warning) in all)", location: nil))
            }
        }
    }
}

/// XPath locations of the model's elements, per syntax (for `Anomaly.location`).
struct RulePaths {
    let cii: Bool
    let root: String
    let lineName: String

    init(syntax: InvoiceSyntax) {
        cii = syntax == .cii
        switch syntax {
        case .cii: root = "/rsm:CrossIndustryInvoice"; lineName = "ram:IncludedSupplyChainTradeLineItem"
        case .ublCreditNote: root = "/cn:CreditNote"; lineName = "cac:CreditNoteLine"
        default: root = "/ubl:Invoice"; lineName = "cac:InvoiceLine"
        }
    }

    var tx: String { root + "/rsm:SupplyChainTradeTransaction" }
    var agreement: String { tx + "/ram:ApplicableHeaderTradeAgreement" }
    var settlement: String { tx + "/ram:ApplicableHeaderTradeSettlement" }
    var document: String { cii ? root + "/rsm:ExchangedDocument" : root }
    var context: String { cii ? root + "/rsm:ExchangedDocumentContext" : root }
    var summation: String { cii ? settlement + "/ram:SpecifiedTradeSettlementHeaderMonetarySummation" : root + "/cac:LegalMonetaryTotal" }

    /// A child of the document totals: `cii` / `ubl` element names.
    func total(_ ciiName: String, _ ublName: String) -> String {
        summation + "/" + (cii ? "ram:" + ciiName : "cbc:" + ublName)
    }

    /// An element directly under the UBL root, or at the given CII path.
    func at(cii ciiPath: String, ubl ublName: String) -> String {
        cii ? ciiPath : root + "/" + ublName
    }

    func line(_ i: Int) -> String {
        cii ? tx + "/\(lineName)[\(i + 1)]" : root + "/\(lineName)[\(i + 1)]"
    }

    func allowanceCharge(_ i: Int) -> String {
        cii ? settlement + "/ram:SpecifiedTradeAllowanceCharge[\(i + 1)]" : root + "/cac:AllowanceCharge[\(i + 1)]"
    }

    func lineAllowanceCharge(_ line: Int, _ i: Int) -> String {
        cii ? self.line(line) + "/ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeAllowanceCharge[\(i + 1)]"
            : self.line(line) + "/cac:AllowanceCharge[\(i + 1)]"
    }

    /// The i-th VAT breakdown of `model`.
    func vat(_ i: Int, in model: InvoiceModel) -> String {
        if cii { return settlement + "/ram:ApplicableTradeTax[\(i + 1)]" }
        let b = model.vatBreakdown[i]
        let j = model.vatBreakdown[..<i].filter { $0.taxTotalIndex == b.taxTotalIndex }.count
        return root + "/cac:TaxTotal[\(b.taxTotalIndex + 1)]/cac:TaxSubtotal[\(j + 1)]"
    }

    func party(_ role: InvoiceModel.PartyRole) -> String {
        if cii {
            switch role {
            case .seller: return agreement + "/ram:SellerTradeParty"
            case .buyer: return agreement + "/ram:BuyerTradeParty"
            case .taxRepresentative: return agreement + "/ram:SellerTaxRepresentativeTradeParty"
            case .salesAgent: return agreement + "/ram:SalesAgentTradeParty"
            case .buyerAgent: return agreement + "/ram:BuyerAgentTradeParty"
            case .payee: return settlement + "/ram:PayeeTradeParty"
            case .payer: return settlement + "/ram:PayerTradeParty"
            case .invoicee: return settlement + "/ram:InvoiceeTradeParty"
            case .invoicer: return settlement + "/ram:InvoicerTradeParty"
            case .shipTo: return tx + "/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty"
            }
        }
        switch role {
        case .seller: return root + "/cac:AccountingSupplierParty/cac:Party"
        case .buyer: return root + "/cac:AccountingCustomerParty/cac:Party"
        case .taxRepresentative: return root + "/cac:TaxRepresentativeParty"
        case .salesAgent: return root + "/cac:AccountingSupplierParty/cac:Party/cac:AgentParty"
        case .buyerAgent: return root + "/cac:AccountingCustomerParty/cac:Party/cac:AgentParty"
        case .payee: return root + "/cac:PayeeParty"
        case .payer: return root + "/cac:PaymentMeans/cac:PaymentMandate/cac:PayerParty"
        case .invoicee: return root + "/cac:AccountingCustomerParty/cac:Party/cac:ServiceProviderParty/cac:Party"
        case .invoicer: return root + "/cac:AccountingSupplierParty/cac:Party/cac:ServiceProviderParty/cac:Party"
        case .shipTo: return root + "/cac:Delivery/cac:DeliveryLocation"
        }
    }
}

// MARK: helpers shared by the rule families

/// XPath `normalize-space`.
@inline(__always) func norm(_ s: String?) -> String { InvoiceModel.norm(s) }

/// `normalize-space(x) != ''`.
@inline(__always) func filled(_ s: String?) -> Bool { !InvoiceModel.norm(s).isEmpty }

/// `string-length(substring-after(x, '.')) <= 2` on the raw value (absent passes).
@inline(__always) func twoDecimals(_ n: InvoiceModel.Number?) -> Bool {
    guard let n else { return true }
    return XSDecimal.digitsAfterDot(n.raw) <= 2
}

/// Shown in messages: the value as written, or "absent".
func shown(_ n: InvoiceModel.Number?) -> String { n.map { "'\(norm($0.raw))'" } ?? "absent" }
func shown(_ s: String?) -> String { s.map { "'\(norm($0))'" } ?? "absent" }
