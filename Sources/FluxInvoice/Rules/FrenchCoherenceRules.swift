import Foundation

/// French coherence and decimal rules of the FNFE BR-FR Flux 2 Schematron v1.4.0.03:
/// BR-FR-CO-03..15 (references of corrective invoices and credit notes, due date, paid
/// invoices, identifier schemes, currency, VAT groups) and BR-FR-DEC-01..04 (19 digits, 2/4/6
/// decimals).
enum FrenchCoherenceRules {
    typealias M = InvoiceModel

    static let coIDs: [String] = [
        "BR-FR-CO-03_BT-3", "BR-FR-CO-04_BT-4", "BR-FR-CO-04_BT-3", "BR-FR-CO-05_BT-3", "BR-FR-CO-07_BT-9",
        "BR-FR-CO-08_BT-23", "BR-FR-CO-09_BT-23-1", "BR-FR-CO-09_BT-23-2", "BR-FR-CO-09_BT-23-3",
        "BR-FR-CO-12_BT-5", "BR-FR-CO-14_BT-29-1", "BR-FR-CO-15_BT-29-1",
    ]
    static let co10Suffixes = ["BT-29", "BT-46", "BT-60", "EXT-FR-FE-06", "EXT-FR-FE-46", "EXT-FR-FE-69", "EXT-FR-FE-92", "EXT-FR-FE-115", "BT-71", "EXT-FR-FE-146"]
    static let decIDs: [String] = [
        "BR-FR-DEC-01_BT-92_BT-99", "BR-FR-DEC-01_BT-93_BT-100", "BR-FR-DEC-01_BT-106", "BR-FR-DEC-01_BT-107",
        "BR-FR-DEC-01_BT-108", "BR-FR-DEC-01_BT-109", "BR-FR-DEC-01_BT-110", "BR-FR-DEC-01_BT-112", "BR-FR-DEC-01_BT-113",
        "BR-FR-DEC-01_BT-114", "BR-FR-DEC-01_BT-115", "BR-FR-DEC-01_BT-116", "BR-FR-DEC-01_BT-117", "BR-FR-DEC-01_BT-131",
        "BR-FR-DEC-01_BT-136_BT-141", "BR-FR-DEC-01_BT-137_BT-142", "BR-FR-DEC-02_BT-129", "BR-FR-DEC-02_BT-149",
        "BR-FR-DEC-03_BT-146", "BR-FR-DEC-03_BT-147", "BR-FR-DEC-03_BT-148",
        "BR-FR-DEC-04_BT-96_BT-103", "BR-FR-DEC-04_BT-119", "BR-FR-DEC-04_BT-152",
    ]
    static let ruleIDs: [String] = coIDs + co10Suffixes.flatMap { ["BR-FR-CO-10_\($0)-1", "BR-FR-CO-10_\($0)-2"] } + decIDs

    static func check(_ c: RuleContext) {
        references(c)
        dueDateAndProcess(c)
        schemes(c)
        currencyAndGroups(c)
        decimals(c)
    }

    static let correctiveTypes: Set<String> = ["384", "471", "472", "473"]
    static let creditNoteTypes: Set<String> = ["261", "381", "396", "502", "503"]
    static let downPaymentTypes: Set<String> = ["386", "500", "503"]
    static let paidModes: Set<String> = ["B2", "S2", "M2"]

    // MARK: BR-FR-CO-03 / 04 / 05 (references)

    static func references(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let type = m.typeCode ?? ""
        // CO-03: a 262 (credit note covering a period) needs the contract and the period.
        if p.cii || m.syntax == .ublCreditNote, type == "262" {
            let ok = !(m.contractReference ?? "").isEmpty && !(m.invoicePeriod?.start?.raw ?? "").isEmpty && !(m.invoicePeriod?.end?.raw ?? "").isEmpty
            if !ok { c.fail("BR-FR-CO-03_BT-3", .coherence, "a credit note of type 262 needs the contract reference (BT-12) and the invoicing period start and end (BT-73, BT-74)", at: p.root) }
        }
        // CO-04: a corrective invoice references exactly one preceding invoice.
        if correctiveTypes.contains(type) {
            if p.cii {
                if m.precedingInvoices.count != 1 {
                    c.fail("BR-FR-CO-04_BT-4", .coherence, "a corrective invoice (type \(type)) must reference exactly one preceding invoice (BG-3), found \(m.precedingInvoices.count)", at: p.settlement + "/ram:InvoiceReferencedDocument")
                }
            } else if m.syntax == .ublInvoice, m.billingReferenceCount != 1 {
                c.fail("BR-FR-CO-04_BT-3", .coherence, "a corrective invoice (type \(type)) must reference exactly one preceding invoice (BG-3), found \(m.billingReferenceCount)", at: p.root + "/cac:BillingReference")
            }
        }
        // CO-05: a credit note references the invoice(s) it corrects, at header or on every line.
        if creditNoteTypes.contains(type), p.cii || m.syntax == .ublCreditNote {
            let header = m.precedingInvoices.filter { $0.id != nil && $0.issueDate != nil }.count
            let ok: Bool
            if p.cii {
                let detail = m.lines.filter { $0.statusReasonCode == nil || $0.statusReasonCode == "DETAIL" }
                ok = header >= 1 || detail.allSatisfy { l in l.precedingInvoices.contains { $0.id != nil && $0.issueDate != nil } }
            } else {
                let own = m.number ?? ""
                let counted = m.lines.filter { l in
                    !l.precedingInvoices.contains { $0.id == own } || l.precedingInvoices.contains { $0.id == own && $0.statusCode == "DETAIL" }
                }
                let referenced = counted.filter { l in l.precedingInvoices.contains { $0.id != nil && $0.id != own && $0.issueDate != nil } }
                ok = header >= 1 || referenced.count == counted.count
            }
            if !ok {
                c.fail("BR-FR-CO-05_BT-3", .coherence, "a credit note (type \(type)) must reference the preceding invoice (BT-25 and BT-26) at document level or on every line", at: p.cii ? p.settlement : p.root)
            }
        }
    }

    // MARK: BR-FR-CO-07 / 08 / 09 (due date, cadre de facturation)

    static func dueDateAndProcess(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let type = m.typeCode ?? ""
        let mode = m.businessProcess ?? ""
        let exempt = downPaymentTypes.contains(type) || paidModes.contains(mode)
        if p.cii {
            if m.dueDates.contains(where: { filled($0.raw) }), !exempt {
                let issue = m.issueDate?.raw
                let ok = issue.map { i in m.dueDates.allSatisfy { $0.raw >= i } } ?? false
                if !ok { c.fail("BR-FR-CO-07_BT-9", .coherence, "the payment due date (BT-9) must not be before the issue date (BT-2)", at: p.settlement + "/ram:SpecifiedTradePaymentTerms") }
            }
        } else if !exempt {
            // UBL XSLT: `cbc:DueDate | cac:PaymentMeans/cbc:PaymentDueDate`, any of them before BT-2.
            let dues = m.dueDates.map(\.raw) + m.paymentMeans.compactMap { $0.dueDate?.raw }
            if let issue = m.issueDate?.raw, dues.contains(where: { $0 < issue }) {
                c.fail("BR-FR-CO-07_BT-9", .coherence, "the payment due date (BT-9) must not be before the issue date (BT-2)", at: p.root + "/cbc:DueDate")
            }
        }
        if ["B4", "S4", "M4"].contains(mode), downPaymentTypes.contains(type) {
            c.fail("BR-FR-CO-08_BT-23", .coherence, "a final invoice after down payment (cadre \(mode)) cannot be a down payment invoice (type \(type))", at: p.cii ? p.context : p.root + "/cbc:ProfileID")
        }
        if paidModes.contains(mode) {
            let t = m.totals
            if !(t?.prepaidAmount?.value != nil && t?.prepaidAmount?.value == t?.grandTotal?.value) {
                c.fail("BR-FR-CO-09_BT-23-1", .coherence, "an invoice already paid (cadre \(mode)) must have the paid amount (BT-113) equal to the total with VAT (BT-112)", at: p.summation)
            }
            if t?.duePayable?.value != 0 {
                c.fail("BR-FR-CO-09_BT-23-2", .coherence, "an invoice already paid (cadre \(mode)) must have an amount due (BT-115) of 0", at: p.summation)
            }
            let due: String? = p.cii ? m.dueDates.first(where: { filled($0.raw) })?.raw : (m.dueDates.first?.raw ?? m.paymentMeans.first(where: { $0.dueDate != nil })?.dueDate?.raw)
            if (due ?? "").isEmpty {
                c.fail("BR-FR-CO-09_BT-23-3", .coherence, "an invoice already paid (cadre \(mode)) must give the payment date as due date (BT-9)", at: p.cii ? p.settlement : p.root)
            }
        }
    }

    // MARK: BR-FR-CO-10 (identifier schemes)

    static func schemes(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let suffix: [M.PartyRole: String] = [
            .seller: "BT-29", .buyer: "BT-46", .payee: "BT-60", .buyerAgent: "EXT-FR-FE-06", .payer: "EXT-FR-FE-46",
            .salesAgent: "EXT-FR-FE-69", .invoicee: "EXT-FR-FE-92", .invoicer: "EXT-FR-FE-115", .shipTo: "BT-71",
        ]
        func check(_ ids: [M.PartyIdentifier], _ s: String, at: @autoclosure () -> String) {
            let globals = ids.filter(\.isGlobal)
            if globals.contains(where: { !$0.hasSchemeAttribute }) {
                c.fail("BR-FR-CO-10_\(s)-1", .semantic, "every identifier of this party must carry a scheme identifier (@schemeID)", at: at())
            }
            let schemes = globals.compactMap { $0.hasSchemeAttribute ? ($0.scheme ?? "") : nil }
            if Set(schemes).count != schemes.count {
                c.fail("BR-FR-CO-10_\(s)-2", .semantic, "a party may carry only one identifier per scheme", at: at())
            }
        }
        var parties: [M.Party] = [m.seller, m.buyer, m.payee].compactMap { $0 }
        parties += m.otherParties
        for party in parties {
            guard let s = suffix[party.role] else { continue }
            if !p.cii, party.role == .shipTo, !(m.delivery?.hasLocation ?? false) { continue }
            check(party.identifiers, s, at: p.party(party.role))
        }
        for (i, l) in m.lines.enumerated() {
            if let s = l.shipTo { check(s.identifiers, "EXT-FR-FE-146", at: p.line(i)) }
        }
    }

    // MARK: BR-FR-CO-12 / 14 / 15 (currency, VAT group)

    static func currencyAndGroups(_ c: RuleContext) {
        let m = c.model, p = c.paths
        if let cur = m.currency, cur != "EUR" {
            let eurTax = m.totals?.taxTotals.first { $0.currencyID == "EUR" }
            if !(m.taxCurrency == "EUR" && !(eurTax?.raw ?? "").isEmpty) {
                c.fail("BR-FR-CO-12_BT-5", .coherence, "an invoice in \(cur) must give the VAT accounting currency EUR (BT-6) and the total VAT in EUR (BT-111)",
                       at: p.cii ? p.settlement + "/ram:InvoiceCurrencyCode" : p.root + "/cbc:DocumentCurrencyCode")
            }
        }
        let isGroup = m.seller?.identifiers.contains { $0.isGlobal && $0.scheme == "0231" } ?? false
        if isGroup {
            let txd = p.cii ? m.notes.contains { $0.subjectCode == "TXD" && $0.content == "MEMBRE_ASSUJETTI_UNIQUE" }
                : FrenchRules.ublNoteValue(m, "TXD") == "MEMBRE_ASSUJETTI_UNIQUE"
            if !txd {
                c.fail("BR-FR-CO-14_BT-29-1", .coherence, "a member of a VAT group (seller identifier scheme 0231) needs the note TXD 'MEMBRE_ASSUJETTI_UNIQUE'", at: p.document)
            }
            let rep = m.taxRepresentative
            let ok: Bool
            if p.cii {
                ok = rep != nil && !(rep?.taxRegistrations.first { $0.scheme == "VA" }?.value ?? "").isEmpty
            } else {
                ok = (rep?.taxSchemeCount ?? 0) > 0 && !(rep?.taxRegistrations.first?.value ?? "").isEmpty
            }
            if !ok {
                c.fail("BR-FR-CO-15_BT-29-1", .coherence, "a member of a VAT group needs the tax representative (BG-11) carrying the group's VAT identifier (BT-63)", at: p.party(.taxRepresentative))
            }
        }
    }

    // MARK: BR-FR-DEC-01..04

    /// `^[-]?\d{1,19}(\.\d{1,F})?$` with at most 19 characters once the dot is removed.
    static func validDecimal(_ s: String, fraction: Int, allowMinus: Bool, maxLength: Int = 19, intDigits: Int = 19) -> Bool {
        var total = 0, intPart = 0, fracPart = 0
        var seenDot = false, first = true
        for x in s.utf8 {
            defer { first = false }
            if x == UInt8(ascii: ".") {
                if seenDot { return false }
                seenDot = true
                continue
            }
            total += 1
            if first, allowMinus, x == UInt8(ascii: "-") { continue }
            guard x >= 48 && x <= 57 else { return false }
            if seenDot { fracPart += 1 } else { intPart += 1 }
        }
        guard total <= maxLength, (1...intDigits).contains(intPart) else { return false }
        return seenDot ? (1...fraction).contains(fracPart) : true
    }

    static func decimals(_ c: RuleContext) {
        let m = c.model, p = c.paths
        func amount(_ n: M.Number?, _ id: String, _ at: @autoclosure () -> String) {
            guard let n else { return }
            let v = norm(n.raw)
            if !validDecimal(v, fraction: 2, allowMinus: true) {
                c.fail(id, .semantic, "the amount '\(v)' must have at most 19 digits and 2 decimals", at: at())
            }
        }
        for (i, a) in m.allowancesCharges.enumerated() {
            amount(a.amount, "BR-FR-DEC-01_BT-92_BT-99", p.allowanceCharge(i))
            amount(a.baseAmount, "BR-FR-DEC-01_BT-93_BT-100", p.allowanceCharge(i))
        }
        if let t = m.totals {
            if t.hasSummation {
                amount(t.lineTotal, "BR-FR-DEC-01_BT-106", p.total("LineTotalAmount", "LineExtensionAmount"))
                amount(t.allowanceTotal, "BR-FR-DEC-01_BT-107", p.total("AllowanceTotalAmount", "AllowanceTotalAmount"))
                amount(t.chargeTotal, "BR-FR-DEC-01_BT-108", p.total("ChargeTotalAmount", "ChargeTotalAmount"))
                amount(t.taxBasisTotal, "BR-FR-DEC-01_BT-109", p.total("TaxBasisTotalAmount", "TaxExclusiveAmount"))
                amount(t.grandTotal, "BR-FR-DEC-01_BT-112", p.total("GrandTotalAmount", "TaxInclusiveAmount"))
                amount(t.prepaidAmount, "BR-FR-DEC-01_BT-113", p.total("TotalPrepaidAmount", "PrepaidAmount"))
                amount(t.roundingAmount, "BR-FR-DEC-01_BT-114", p.total("RoundingAmount", "PayableRoundingAmount"))
                amount(t.duePayable, "BR-FR-DEC-01_BT-115", p.total("DuePayableAmount", "PayableAmount"))
            }
            if t.hasSummation || !p.cii {
                for n in t.taxTotals { amount(n, "BR-FR-DEC-01_BT-110", p.cii ? p.total("TaxTotalAmount", "") : p.root + "/cac:TaxTotal/cbc:TaxAmount") }
            }
        }
        for (i, b) in m.vatBreakdown.enumerated() {
            amount(b.taxableAmount, "BR-FR-DEC-01_BT-116", p.vat(i, in: m))
            amount(b.taxAmount, "BR-FR-DEC-01_BT-117", p.vat(i, in: m))
        }
        let special9 = ["S9", "B9", "M9"].contains(norm(m.businessProcess))
        for (i, l) in m.lines.enumerated() {
            func at() -> String { p.line(i) }
            amount(l.netAmount, "BR-FR-DEC-01_BT-131", at())
            for (j, a) in l.allowancesCharges.enumerated() {
                amount(a.amount, "BR-FR-DEC-01_BT-136_BT-141", p.lineAllowanceCharge(i, j))
                amount(a.baseAmount, "BR-FR-DEC-01_BT-137_BT-142", p.lineAllowanceCharge(i, j))
            }
            if let q = l.quantity, !validDecimal(norm(q.raw), fraction: 4, allowMinus: true) {
                c.fail("BR-FR-DEC-02_BT-129", .semantic, "line \(i + 1): the quantity '\(norm(q.raw))' must have at most 19 digits and 4 decimals", at: at())
            }
            if let q = l.priceBaseQuantity, p.cii || !norm(q.raw).isEmpty, !validDecimal(norm(q.raw), fraction: 4, allowMinus: true) {
                c.fail("BR-FR-DEC-02_BT-149", .semantic, "line \(i + 1): the price base quantity '\(norm(q.raw))' must have at most 19 digits and 4 decimals", at: at())
            }
            for (n, id) in [(l.netPrice, "BR-FR-DEC-03_BT-146"), (l.priceDiscount, "BR-FR-DEC-03_BT-147"), (l.grossPrice, "BR-FR-DEC-03_BT-148")] {
                guard let n else { continue }
                let v = norm(n.raw)
                if !p.cii && v.isEmpty { continue }
                if !validDecimal(v, fraction: 6, allowMinus: special9) {
                    c.fail(id, .semantic, "line \(i + 1): the price '\(v)' must be positive with at most 19 digits and 6 decimals", at: at())
                }
            }
        }
        func rate(_ n: M.Number?, _ id: String, _ at: @autoclosure () -> String) {
            guard let n else { return }
            let v = norm(n.raw)
            if !validDecimal(v, fraction: 2, allowMinus: false, maxLength: 4, intDigits: 4) {
                c.fail(id, .semantic, "the VAT rate '\(v)' must be positive with at most 4 digits and 2 decimals", at: at())
            }
        }
        for (i, a) in m.allowancesCharges.enumerated() { rate(a.tax?.rate, "BR-FR-DEC-04_BT-96_BT-103", p.allowanceCharge(i)) }
        if !p.cii {
            for l in m.lines { for a in l.allowancesCharges { rate(a.tax?.rate, "BR-FR-DEC-04_BT-96_BT-103", p.root) } }
        }
        for (i, b) in m.vatBreakdown.enumerated() { rate(b.tax.rate, "BR-FR-DEC-04_BT-119", p.vat(i, in: m)) }
        for (i, l) in m.lines.enumerated() { for t in l.taxes { rate(t.rate, "BR-FR-DEC-04_BT-152", p.line(i)) } }
    }
}
