import Foundation

/// EN 16931 totals and VAT arithmetic: BR-CO-10..BR-CO-17, BR-53 and the totals BR-DEC rules,
/// with the official rounding (`round(x * 100) div 100`, half toward +∞) and tolerances, which
/// differ between the CII and UBL Schematrons.
enum TotalsRules {
    static let ruleIDs: [String] = [
        "BR-CO-10", "BR-CO-11", "BR-CO-12", "BR-CO-13", "BR-CO-14", "BR-CO-15", "BR-CO-16", "BR-CO-17", "BR-53",
        "BR-DEC-09", "BR-DEC-10", "BR-DEC-11", "BR-DEC-12", "BR-DEC-13", "BR-DEC-14", "BR-DEC-15", "BR-DEC-16",
        "BR-DEC-17", "BR-DEC-18",
    ]

    typealias M = InvoiceModel
    static let r2 = XSDecimal.round2

    static func check(_ c: RuleContext) {
        let m = c.model
        if let t = m.totals, t.hasSummation { summation(c, t) }
        grandTotal(c)
        taxTotals(c, m.totals ?? M.Totals())
        breakdownArithmetic(c)
    }

    /// Sum of the values (absent or non-numeric values count as nothing, like `sum()` over an
    /// empty selection).
    static func sum<S: Sequence>(_ values: S) -> XSDec where S.Element == XSDec? {
        values.reduce(XSDec(0)) { $0 + ($1 ?? 0) }
    }

    static func summation(_ c: RuleContext, _ t: M.Totals) {
        let m = c.model, p = c.paths
        // CII sums the untyped line amounts as xs:double, then casts the sum to xs:decimal
        // exactly; UBL sums xs:decimal values.
        let lineSum: XSDec
        if p.cii && !m.lines.allSatisfy({ twoDecimals($0.netAmount) }) {
            // With at most two decimals everywhere the double sum rounds like the exact one; only
            // finer amounts need the (slower) exact replay of the double arithmetic.
            let d = m.lines.reduce(0.0) { $0 + ($1.netAmount.flatMap { XSDecimal.double($0.raw) } ?? 0) }
            lineSum = XSDecimal.exactDecimal(d) ?? sum(m.lines.map { $0.netAmount?.value })
        } else {
            lineSum = sum(m.lines.map { $0.netAmount?.value })
        }
        if !(t.lineTotal?.value.map { $0 == r2(lineSum) } ?? false) {
            c.fail("BR-CO-10", .coherence, "the sum of line net amounts (BT-106) is \(shown(t.lineTotal)) but the lines add up to \(r2(lineSum))", at: p.total("LineTotalAmount", "LineExtensionAmount"))
        }
        let allowances = m.allowancesCharges.filter { $0.isCharge == false }
        let charges = m.allowancesCharges.filter { $0.isCharge == true }
        for (list, total, id, bt, ciiName, ublName) in [
            (allowances, t.allowanceTotal, "BR-CO-11", "sum of allowances (BT-107)", "AllowanceTotalAmount", "AllowanceTotalAmount"),
            (charges, t.chargeTotal, "BR-CO-12", "sum of charges (BT-108)", "ChargeTotalAmount", "ChargeTotalAmount"),
        ] {
            let s = r2(sum(list.map { $0.amount?.value }))
            let ok: Bool
            if p.cii {
                // `AllowanceTotalAmount = round(sum(ActualAmount[1]) * 10 * 10) div 100`, all xs:double.
                let d = list.reduce(0.0) { $0 + ($1.amount.flatMap { XSDecimal.double($0.raw) } ?? 0) }
                let expected = XSDecimal.round(d * 10 * 10) / 100
                ok = (list.isEmpty && total == nil) || (total.flatMap { XSDecimal.double($0.raw) } == expected)
            } else {
                ok = (list.isEmpty && total == nil) || (total?.value.map { $0 == s } ?? false)
            }
            if !ok { c.fail(id, .coherence, "the \(bt) is \(shown(total)) but the document level entries add up to \(s)", at: p.total(ciiName, ublName)) }
        }
        // BR-CO-13: BT-109 = BT-106 - BT-107 + BT-108 (each present term only).
        if let basis = t.taxBasisTotal?.value, let line = t.lineTotal?.value,
           t.allowanceTotal.map({ $0.value != nil }) ?? true, t.chargeTotal.map({ $0.value != nil }) ?? true {
            let allow = t.allowanceTotal?.value ?? 0, charge = t.chargeTotal?.value ?? 0
            let expected: XSDec
            if !p.cii && t.allowanceTotal == nil && t.chargeTotal == nil { expected = line } else { expected = r2(line - allow + charge) }
            if basis != expected {
                c.fail("BR-CO-13", .coherence, "the invoice total without VAT (BT-109) is \(shown(t.taxBasisTotal)) but BT-106 - BT-107 + BT-108 = \(expected)", at: p.total("TaxBasisTotalAmount", "TaxExclusiveAmount"))
            }
        } else {
            c.fail("BR-CO-13", .coherence, "the invoice total without VAT (BT-109) cannot be checked against BT-106 - BT-107 + BT-108", at: p.total("TaxBasisTotalAmount", "TaxExclusiveAmount"))
        }
        // BR-CO-16: BT-115 = BT-112 - BT-113 + BT-114.
        let due = t.duePayable?.value, grand = t.grandTotal?.value
        let prepaid = t.prepaidAmount?.value, rounding = t.roundingAmount?.value
        var ok16 = false
        if let due, let grand, t.prepaidAmount == nil || prepaid != nil, t.roundingAmount == nil || rounding != nil {
            if p.cii {
                ok16 = due == grand - (prepaid ?? 0) + (rounding ?? 0)
            } else if let r = rounding {
                ok16 = r2(due - r) == (prepaid.map { r2(grand - $0) } ?? grand)
            } else {
                ok16 = due == (prepaid.map { r2(grand - $0) } ?? grand)
            }
        }
        if !ok16 {
            c.fail("BR-CO-16", .coherence, "the amount due (BT-115) is \(shown(t.duePayable)) but BT-112 - BT-113 + BT-114 gives another value", at: p.total("DuePayableAmount", "PayableAmount"))
        }
        // Decimals of the totals.
        for (n, id, ciiName, ublName) in [
            (t.lineTotal, "BR-DEC-09", "LineTotalAmount", "LineExtensionAmount"),
            (t.allowanceTotal, "BR-DEC-10", "AllowanceTotalAmount", "AllowanceTotalAmount"),
            (t.chargeTotal, "BR-DEC-11", "ChargeTotalAmount", "ChargeTotalAmount"),
            (t.taxBasisTotal, "BR-DEC-12", "TaxBasisTotalAmount", "TaxExclusiveAmount"),
            (t.grandTotal, "BR-DEC-14", "GrandTotalAmount", "TaxInclusiveAmount"),
            (t.prepaidAmount, "BR-DEC-16", "TotalPrepaidAmount", "PrepaidAmount"),
            (t.roundingAmount, "BR-DEC-17", "RoundingAmount", "PayableRoundingAmount"),
            (t.duePayable, "BR-DEC-18", "DuePayableAmount", "PayableAmount"),
        ] where !twoDecimals(n) {
            c.fail(id, .semantic, "\(ublName) has more than 2 decimals (\(shown(n)))", at: p.total(ciiName, ublName))
        }
        if p.cii {
            // BR-DEC-13/15: some tax total in the currency must have at most 2 decimals (value-wise).
            // `. = round(. * 100) div 100` in xs:double.
            let twoPlaces: (M.Number) -> Bool = { n in XSDecimal.double(n.raw).map { $0 == XSDecimal.round($0 * 100) / 100 } ?? false }
            if !t.taxTotals.isEmpty, !t.taxTotals.contains(where: { $0.currencyID != m.currency || twoPlaces($0) }) {
                c.fail("BR-DEC-13", .semantic, "the invoice total VAT amount (BT-110) has more than 2 decimals", at: p.total("TaxTotalAmount", "TaxAmount"))
            }
            if m.taxCurrency != nil, !t.taxTotals.isEmpty, !t.taxTotals.contains(where: { $0.currencyID == m.taxCurrency && twoPlaces($0) }) {
                c.fail("BR-DEC-15", .semantic, "the invoice total VAT amount in accounting currency (BT-111) has more than 2 decimals", at: p.total("TaxTotalAmount", "TaxAmount"))
            }
            // BR-53: with a VAT accounting currency, BT-111 in that currency, different from BT-5.
            if let tc = m.taxCurrency {
                let ok = t.taxTotals.contains { $0.currencyID == tc } && tc != m.currency
                if !ok {
                    c.fail("BR-53", .coherence, "with a VAT accounting currency (BT-6 '\(tc)') the total VAT amount in that currency (BT-111) is required", at: p.total("TaxTotalAmount", "TaxAmount"))
                }
            }
        }
    }

    /// BR-CO-15: BT-112 = BT-109 + BT-110 (and exactly one BT-110); BR-53 for UBL.
    static func grandTotal(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let t = m.totals
        if p.cii {
            guard let cur = m.currency else { return }
            let inCur = (t?.taxTotals ?? []).filter { $0.currencyID == cur }
            let grand = t?.grandTotal?.value, basis = t?.taxBasisTotal?.value
            var ok = false
            if let grand, let basis {
                if inCur.count == 1, let vat = inCur[0].value, grand == r2(basis + vat) { ok = true }
                if grand == basis { ok = true }
            }
            if !ok {
                c.fail("BR-CO-15", .coherence, "the invoice total with VAT (BT-112) is \(shown(t?.grandTotal)) but BT-109 + BT-110 gives another value", at: p.total("GrandTotalAmount", "TaxInclusiveAmount"))
            }
        } else {
            if let cur = m.currency {
                let inCur = (t?.taxTotals ?? []).filter { $0.currencyID == cur }
                var ok = false
                if inCur.count == 1, let vat = inCur[0].value, let grand = t?.grandTotal?.value, let basis = t?.taxBasisTotal?.value {
                    ok = grand == r2(basis + vat)
                }
                if !ok {
                    c.fail("BR-CO-15", .coherence, "the invoice total with VAT (BT-112) is \(shown(t?.grandTotal)) but BT-109 + BT-110 gives another value (BT-110 must appear once in the invoice currency)", at: p.total("GrandTotalAmount", "TaxInclusiveAmount"))
                }
            }
            if let tc = m.taxCurrency, !(t?.taxTotals ?? []).contains(where: { $0.currencyID == tc }) {
                c.fail("BR-53", .coherence, "with a VAT accounting currency (BT-6 '\(tc)') the total VAT amount in that currency (BT-111) is required", at: p.root + "/cac:TaxTotal")
            }
        }
    }

    /// BR-CO-14: BT-110 = Σ BT-117.
    static func taxTotals(_ c: RuleContext, _ t: M.Totals) {
        let m = c.model, p = c.paths
        if p.cii {
            guard t.hasSummation else { return }
            // `. = round(sum(CalculatedAmount) * 10 * 10) div 100`, all xs:double.
            let d = m.vatBreakdown.reduce(0.0) { $0 + ($1.taxAmount.flatMap { XSDecimal.double($0.raw) } ?? 0) }
            let expected = XSDecimal.round(d * 10 * 10) / 100
            let s = r2(sum(m.vatBreakdown.map { $0.taxAmount?.value }))
            for n in t.taxTotals where n.currencyID == m.currency && n.currencyID != nil {
                if XSDecimal.double(n.raw) != expected {
                    c.fail("BR-CO-14", .coherence, "the invoice total VAT amount (BT-110) is \(shown(n)) but the VAT breakdown adds up to \(s)", at: p.total("TaxTotalAmount", "TaxAmount"))
                }
            }
        } else {
            for (i, hit) in c.facts.ublTaxTotals.enumerated() {
                let subs = m.vatBreakdown.filter { $0.taxTotalIndex == i }
                guard !subs.isEmpty else { continue }
                let s = r2(sum(subs.map { $0.taxAmount?.value }))
                let value = hit.flatMap { XSDecimal.parse($0.value) }
                if value != s {
                    c.fail("BR-CO-14", .coherence, "the invoice total VAT amount (BT-110) is \(hit.map { "'\(norm($0.value))'" } ?? "absent") but the VAT breakdown adds up to \(s)", at: p.root + "/cac:TaxTotal[\(i + 1)]/cbc:TaxAmount")
                }
            }
        }
    }

    /// BR-CO-17: BT-117 = BT-116 × BT-119 / 100, rounded to 2 decimals, ±1 tolerance.
    static func breakdownArithmetic(_ c: RuleContext) {
        let m = c.model
        for (i, b) in m.vatBreakdown.enumerated() where CoreRules.genericBreakdownApplies(b, cii: c.cii) {
            let isVAT = c.cii ? b.tax.isVATNormalized : b.tax.isVATNormalized
            let rate = isVAT ? b.tax.rate?.value : nil
            let calc = b.taxAmount?.value
            var ok = false
            if let calc {
                if let rate {
                    if XSDecimal.round(rate) == 0 {
                        ok = XSDecimal.round(calc) == 0
                    } else if let basis = b.taxableAmount?.value {
                        let expected = r2(XSDecimal.shift(basis.magnitudeValue * rate, -2))
                        let a = calc.magnitudeValue
                        ok = c.cii ? (a - 1 <= expected && a + 1 >= expected) : (a - 1 < expected && a + 1 > expected)
                    }
                } else if !(isVAT && b.tax.rate != nil) {
                    ok = XSDecimal.round(calc) == 0
                }
            }
            if !ok {
                c.fail("BR-CO-17", .coherence, "VAT breakdown \(i + 1): the category tax amount (BT-117) \(shown(b.taxAmount)) is not the taxable amount \(shown(b.taxableAmount)) × rate \(shown(b.tax.rate)) / 100", at: c.paths.vat(i, in: m))
            }
        }
    }
}
