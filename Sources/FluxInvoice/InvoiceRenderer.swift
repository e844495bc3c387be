import Foundation

/// "Restitution en langage clair": an invoice rendered as plain text for a person (an auditor,
/// an operator on call), from its model and the gateway's verdict.
public enum InvoiceRenderer {
    public static func render(_ m: InvoiceModel, anomalies: [String] = [], status: String? = nil) -> String {
        var out: [String] = []
        func add(_ s: String) { out.append(s) }
        func amount(_ n: InvoiceModel.Number?) -> String { n.map { "\($0.raw.trimmingCharacters(in: .whitespaces))" } ?? "-" }
        let kind = m.syntax == .ublCreditNote || ["381", "261", "396", "502", "503"].contains(m.typeCode ?? "") ? "Credit note" : "Invoice"
        add("\(kind) \(m.number ?? "(no number)")\(status.map { " — \($0)" } ?? "")")
        add("  type code \(m.typeCode ?? "-"), issued \(m.issueDate?.iso ?? "-"), currency \(m.currency ?? "-")"
            + (m.taxCurrency.map { ", VAT accounted in \($0)" } ?? ""))
        add("  syntax \(m.syntax.rawValue), profile \(m.profile.rawValue)" + (m.businessProcess.map { ", framework (BT-23) \($0)" } ?? ""))
        if !m.dueDates.isEmpty { add("  due \(m.dueDates.map(\.iso).joined(separator: ", "))") }
        if let r = m.buyerReference { add("  buyer reference \(r)") }
        if let o = m.orderReference { add("  order \(o)") }
        for p in m.precedingInvoices { add("  corrects invoice \(p.id ?? "?")" + (p.issueDate.map { " of \($0.iso)" } ?? "")) }
        for (title, party) in [("Seller", m.seller), ("Buyer", m.buyer), ("Payee", m.payee), ("Tax representative", m.taxRepresentative)] {
            guard let p = party else { continue }
            add("")
            add("\(title): \(p.name ?? "(no name)")")
            if let s = p.siren { add("  SIREN \(s)") }
            for id in p.legalIDs where id.scheme != "0002" { add("  legal id \(id)") }
            if let v = p.vatID { add("  VAT \(v)") }
            for id in p.identifiers { add("  id \(id.scheme.map { "\($0):" } ?? "")\(id.value)") }
            if let e = p.endpoint { add("  electronic address \(e)") }
            if let a = p.address {
                let parts = a.lines + [[a.postcode, a.city].compactMap { $0 }.joined(separator: " "), a.country ?? ""]
                add("  address \(parts.filter { !$0.isEmpty }.joined(separator: ", "))")
            }
        }
        if let d = m.delivery, d.actualDate != nil || d.address != nil {
            add("")
            add("Delivery" + (d.actualDate.map { " on \($0.iso)" } ?? "")
                + (d.address.map { " to " + ($0.lines + [$0.city ?? "", $0.country ?? ""]).filter { !$0.isEmpty }.joined(separator: ", ") } ?? ""))
        }
        if !m.notes.isEmpty {
            add("")
            add("Notes:")
            for n in m.notes { add("  \(n.subjectCode.map { "[\($0)] " } ?? "")\(n.content)") }
        }
        if !m.lines.isEmpty {
            add("")
            add("Lines:")
            for l in m.lines {
                let qty = l.quantity.map { "\($0.raw) \(l.unitCode ?? "")".trimmingCharacters(in: .whitespaces) } ?? "-"
                let vat = l.tax.map { "VAT \($0.code)" + ($0.rate.map { " \($0.raw)%" } ?? "") } ?? ""
                add("  \(l.id ?? "-"). \(l.itemName ?? "(no name)") — \(qty) × \(amount(l.netPrice)) = \(amount(l.netAmount)) \(m.currency ?? "") \(vat)")
            }
        }
        if !m.allowancesCharges.isEmpty {
            add("")
            add("Allowances and charges:")
            for a in m.allowancesCharges {
                add("  \(a.isCharge == true ? "charge" : "allowance") \(amount(a.amount)) \(a.reason ?? a.reasonCode ?? "")")
            }
        }
        if !m.vatBreakdown.isEmpty {
            add("")
            add("VAT breakdown:")
            for v in m.vatBreakdown {
                add("  category \(v.tax.code)" + (v.tax.rate.map { " at \($0.raw)%" } ?? "")
                    + ": taxable \(amount(v.taxableAmount)), VAT \(amount(v.taxAmount))"
                    + (v.tax.exemptionReason.map { " (\($0))" } ?? ""))
            }
        }
        if let t = m.totals {
            add("")
            add("Totals (\(m.currency ?? "")):")
            add("  lines \(amount(t.lineTotal)), allowances \(amount(t.allowanceTotal)), charges \(amount(t.chargeTotal))")
            add("  without VAT \(amount(t.taxBasisTotal)), VAT \(t.taxTotals.map { $0.raw }.joined(separator: " / ")), with VAT \(amount(t.grandTotal))")
            add("  paid \(amount(t.prepaidAmount)), due \(amount(t.duePayable))")
        }
        if !anomalies.isEmpty {
            add("")
            add("Anomalies:")
            for a in anomalies { add("  \(a)") }
        }
        return out.joined(separator: "\n")
    }
}
