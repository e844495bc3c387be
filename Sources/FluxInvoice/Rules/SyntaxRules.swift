import Foundation

/// The few syntax-binding rules of the EN 16931 Schematron that are cheap and matter in
/// practice: CII dates in format 102 (CII-DT-097), no `@currencyID` on CII amounts other than
/// the tax total (CII-DT-031), at most two decimals on UBL amounts (UBL-DT-01), one VAT category
/// per UBL line (UBL-SR-48), complete UBL party tax schemes (UBL-SR-53).
enum SyntaxRules {
    static let ruleIDs: [String] = [
        "CII-DT-097", "CII-DT-031", "CII-SR-009", "CII-SR-010", "CII-SR-014", "CII-SR-439", "CII-SR-459", "CII-SR-460",
        "CII-SR-463", "CII-SR-467", "CII-SR-470", "CII-SR-473", "UBL-DT-01", "UBL-SR-48", "UBL-SR-53",
    ]

    static func check(_ c: RuleContext) {
        let f = c.facts
        if c.cii {
            for h in f.dateTimeStrings102 where !isDate102(h.value) {
                c.fail("CII-DT-097", .semantic, "the date '\(norm(h.value))' is not a valid YYYYMMDD value (format 102)", at: h.path)
            }
            for h in f.amountsWithCurrency {
                c.fail("CII-DT-031", .semantic, "only the tax total amount may carry a currencyID attribute in CII", at: h.path)
            }
            ciiStructure(c)
        } else {
            for h in f.ublAmounts where XSDecimal.digitsAfterDot(h.value) > 2 {
                c.fail("UBL-DT-01", .semantic, "the amount '\(norm(h.value))' has more than 2 decimals", at: h.path)
            }
            for (i, l) in c.model.lines.enumerated() where l.taxes.count != 1 {
                c.fail("UBL-SR-48", .semantic, "line \(i + 1): an invoice line must have exactly one classified tax category (found \(l.taxes.count))", at: c.paths.line(i))
            }
            for h in f.ublIncompleteTaxSchemes {
                c.fail("UBL-SR-53", .semantic, "a party tax scheme needs both the tax scheme identifier and the company identifier", at: h.path)
            }
        }
    }

    /// Cardinalities of the CII syntax binding that the XSD does not enforce.
    static func ciiStructure(_ c: RuleContext) {
        let f = c.facts, m = c.model, p = c.paths
        if f.hasDocumentContext {
            if f.guidelineParameterCount != 1 { c.fail("CII-SR-009", .semantic, "exactly one GuidelineSpecifiedDocumentContextParameter is required", at: p.context) }
            if f.guidelineIDCount != 1 { c.fail("CII-SR-010", .semantic, "exactly one specification identifier (BT-24) is required", at: p.context) }
        }
        if f.hasExchangedDocument, f.documentTypeCodeCount != 1 {
            c.fail("CII-SR-014", .semantic, "exactly one invoice type code (BT-3) is required", at: p.document)
        }
        for (i, l) in m.lines.enumerated() where i < f.lineHasAgreement.count && f.lineHasAgreement[i] && l.netPriceCount != 1 {
            c.fail("CII-SR-439", .semantic, "line \(i + 1): exactly one item net price (BT-146) is required", at: p.line(i) + "/ram:SpecifiedLineTradeAgreement")
        }
        if let s = m.seller, s.endpointCount > 1 { c.fail("CII-SR-459", .semantic, "the seller may have only one electronic address (BT-34)", at: p.party(.seller)) }
        if let b = m.buyer, b.endpointCount > 1 { c.fail("CII-SR-460", .semantic, "the buyer may have only one electronic address (BT-49)", at: p.party(.buyer)) }
        var acs: [(ac: InvoiceModel.AllowanceCharge, line: Int?, index: Int)] = m.allowancesCharges.enumerated().map { ($1, nil, $0) }
        for (i, l) in m.lines.enumerated() { acs += l.allowancesCharges.enumerated().map { ($1, i, $0) } }
        for (a, line, index) in acs {
            func at() -> String { line.map { p.lineAllowanceCharge($0, index) } ?? p.allowanceCharge(index) }
            if a.indicator == nil { c.fail("CII-SR-463", .semantic, "an allowance or charge needs its charge indicator", at: at()) }
            if a.amountCount > 1 { c.fail("CII-SR-473", .semantic, "an allowance or charge may have only one amount", at: at()) }
        }
        let codes = m.paymentMeans.compactMap(\.code).map(norm)
        if let first = codes.first, codes.contains(where: { $0 != first }) {
            c.fail("CII-SR-467", .semantic, "all payment means (BG-16) must use the same type code", at: p.settlement)
        }
        if m.paymentMeans.contains(where: { ["30", "58"].contains(norm($0.code)) && $0.accounts.isEmpty }) {
            c.fail("CII-SR-470", .semantic, "a credit transfer (payment means 30 or 58) needs the payee account (IBAN or proprietary id, BT-84)", at: p.settlement)
        }
    }

    /// `^\s*(\d{4})(1[0-2]|0[1-9])(3[01]|[12][0-9]|0[1-9])\s*$` (not a calendar check).
    static func isDate102(_ s: String) -> Bool {
        let d = Array(norm(s).utf8)
        guard d.count == 8, d.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let m = Int(d[4] - 48) * 10 + Int(d[5] - 48)
        let day = Int(d[6] - 48) * 10 + Int(d[7] - 48)
        return (1...12).contains(m) && (1...31).contains(day)
    }
}
