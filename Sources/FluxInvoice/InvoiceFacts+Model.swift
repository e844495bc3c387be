import FluxCore
import Foundation

extension InvoiceFacts {
    /// The key terms taken from the semantic model, so that a document is walked once (the
    /// XPath bindings of `InvoiceExtractor` give the same values; it stays for F1 data and tests).
    public init(model m: InvoiceModel) {
        self.init(syntax: m.syntax)
        func t(_ s: String?) -> String? {
            guard let v = s?.trimmedWhitespace, !v.isEmpty else { return nil }
            return v
        }
        number = t(m.number)
        issueDate = t(m.issueDate?.raw).map(InvoiceExtractor.normaliseDate)
        typeCode = t(m.typeCode)
        currency = t(m.currency)
        specification = t(m.specificationID)
        for party in [m.seller, m.buyer] {
            guard let p = party else { continue }
            let name = t(p.name) ?? t(p.tradingName)
            let siren = t(p.siren) ?? p.legalIDs.first.flatMap { t($0.value) }.flatMap(InvoiceExtractor.sirenLike)
            let first = p.identifiers.first
            let key = InvoiceExtractor.partyKey(siren: siren, vat: t(p.vatID), id: t(first?.value), idScheme: t(first?.scheme))
            if p.role == .seller { sellerName = name; seller = key; sellerSIREN = siren } else { buyerName = name; buyer = key; buyerSIREN = siren }
        }
        if let totals = m.totals {
            totalWithoutVAT = t(totals.taxBasisTotal?.raw)
            totalWithVAT = t(totals.grandTotal?.raw)
            totalVAT = t((totals.taxTotal(in: currency) ?? totals.taxTotals.first)?.raw)
        }
    }
}
