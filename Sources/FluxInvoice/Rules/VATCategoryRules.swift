import Foundation

/// EN 16931 VAT category rules for the categories used in France: S (BR-S-*), Z (BR-Z-*),
/// E (BR-E-*), AE (BR-AE-*), K (BR-IC-*), G (BR-G-*), O (BR-O-*). The CII and UBL Schematrons
/// phrase them differently (tolerances, filters on the tax scheme, which allowances count), and
/// each variant is reproduced as written.
enum VATCategoryRules {
    typealias M = InvoiceModel

    /// Category code → rule prefix.
    static let categories: [(code: String, prefix: String)] = [
        ("S", "BR-S"), ("Z", "BR-Z"), ("E", "BR-E"), ("AE", "BR-AE"), ("K", "BR-IC"), ("G", "BR-G"), ("O", "BR-O"),
    ]

    static let ruleIDs: [String] = categories.flatMap { c in (1...10).map { id(c.prefix, $0) } }
        + ["BR-IC-11", "BR-IC-12", "BR-O-11", "BR-O-12", "BR-O-13", "BR-O-14"]

    static func check(_ c: RuleContext) {
        if c.cii { checkCII(c) } else { checkUBL(c) }
    }

    static func id(_ prefix: String, _ n: Int) -> String { prefix + (n < 10 ? "-0" : "-") + String(n) }

    static let name: [String: String] = [
        "S": "standard rated", "Z": "zero rated", "E": "exempt", "AE": "reverse charge", "K": "intra-community",
        "G": "export outside the EU", "O": "not subject to VAT",
    ]

    /// The rate condition of rules -05/-06/-07: S > 0, O absent, others = 0.
    static func rateOK(_ code: String, _ rate: M.Number?) -> Bool {
        switch code {
        case "S": return rate?.value.map { $0 > 0 } ?? false
        case "O": return rate == nil
        default: return rate?.value.map { $0 == 0 } ?? false
        }
    }

    static func rateMessage(_ code: String) -> String {
        switch code {
        case "S": return "must be greater than zero"
        case "O": return "must be absent"
        default: return "must be 0"
        }
    }

    // MARK: CII

    static func checkCII(_ c: RuleContext) {
        let m = c.model, f = c.facts, p = c.paths
        let isVAT: (M.TaxCategory) -> Bool = { InvoiceModel.isVAT($0.scheme, trimming: false) }
        let sellerVAorFC = f.anySellerVAorFC, sellerVA = f.anySellerVA, repVA = f.anyTaxRepVA
        let buyerVA = f.anyBuyerVA, buyerLegal = f.anyBuyerLegalID

        func partiesOK(_ code: String) -> Bool {
            switch code {
            case "AE": return (sellerVAorFC || repVA) && (buyerVA || buyerLegal)
            case "G": return sellerVA || repVA
            case "K": return (sellerVA || repVA) && buyerVA
            case "O": return !sellerVA && !repVA && !buyerVA
            default: return sellerVAorFC || repVA
            }
        }
        func partiesMessage(_ code: String) -> String {
            switch code {
            case "AE": return "needs the seller VAT identifier (or tax representative's) and the buyer VAT or legal registration identifier"
            case "K": return "needs the seller VAT identifier (or tax representative's) and the buyer VAT identifier"
            case "O": return "must not carry a seller, tax representative or buyer VAT identifier"
            default: return "needs the seller VAT identifier (BT-31/BT-32) or the tax representative's (BT-63)"
            }
        }

        let lineTaxes = m.lines.enumerated().flatMap { (i, l) in l.taxes.map { (i, $0) } }
        let acs = m.allowancesCharges.enumerated().compactMap { (i, a) -> (Int, M.AllowanceCharge, M.TaxCategory)? in
            a.tax.map { (i, a, $0) }
        }

        for (code, prefix) in categories {
            let label = name[code]!
            // -01: a breakdown for the category when lines or allowances/charges use it.
            let lineCount = lineTaxes.filter { $0.1.category == code }.count
            let headerCount = m.vatBreakdown.filter { $0.tax.category == code }.count
            let acCount = acs.filter { $0.2.category == code }.count
            let ok01: Bool
            switch code {
            case "S": ok01 = (lineCount + headerCount >= 2 || lineCount == 0) && (acCount + headerCount >= 2 || acCount == 0)
            case "O": ok01 = headerCount == 0 || (headerCount == 1 && (lineCount > 0 || acCount > 0))
            default: ok01 = (headerCount == 0 && lineCount == 0 && acCount == 0) || (headerCount == 1 && (lineCount > 0 || acCount > 0))
            }
            if !ok01 {
                c.fail(id(prefix, 1), .coherence, "an invoice using VAT category \(code) (\(label)) needs exactly one VAT breakdown (BG-23) for it", at: p.settlement)
            }
            // -02 / -05: lines.
            for (i, t) in lineTaxes where t.category == code && isVAT(t) {
                func at() -> String { p.line(i) + "/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax" }
                if !partiesOK(code) { c.fail(id(prefix, 2), .semantic, "line \(i + 1) with VAT category \(code) \(partiesMessage(code))", at: at()) }
                if !rateOK(code, t.rate) { c.fail(id(prefix, 5), .semantic, "line \(i + 1): the VAT rate of category \(code) \(rateMessage(code)) (\(shown(t.rate)))", at: at()) }
            }
            // -03/-06 allowances, -04/-07 charges.
            for (i, a, t) in acs where t.category == code && isVAT(t) {
                guard let charge = a.isCharge else { continue }
                func at() -> String { p.allowanceCharge(i) + "/ram:CategoryTradeTax" }
                let what = charge ? "document level charge" : "document level allowance"
                if !partiesOK(code) { c.fail(id(prefix, charge ? 4 : 3), .semantic, "a \(what) with VAT category \(code) \(partiesMessage(code))", at: at()) }
                if !rateOK(code, t.rate) { c.fail(id(prefix, charge ? 7 : 6), .semantic, "a \(what) with VAT category \(code): the rate \(rateMessage(code)) (\(shown(t.rate)))", at: at()) }
            }
            // -08/-09/-10: the breakdown itself.
            for (i, b) in m.vatBreakdown.enumerated() where b.tax.category == code {
                // S and Z are matched whatever the tax scheme; the others only with TypeCode VAT.
                if code != "S" && code != "Z" && !isVAT(b.tax) { continue }
                func at() -> String { p.vat(i, in: m) }
                breakdownCII(c, code: code, prefix: prefix, index: i, b, at: at())
            }
        }
    }

    /// Σ line net amounts for a category (and rate) + charges − allowances, each rounded.
    static func expectedCII(_ m: M, code: String, rate: XSDec?) -> XSDec {
        let r2 = XSDecimal.round2
        func taxMatches(_ t: M.TaxCategory) -> Bool { t.category == code }
        var lines = XSDec(0)
        for l in m.lines where l.taxes.contains(where: taxMatches) {
            if let rate, !l.taxes.contains(where: { $0.rate?.value == rate }) { continue }
            lines += l.netAmount?.value ?? 0
        }
        var charges = XSDec(0), allowances = XSDec(0)
        for a in m.allowancesCharges {
            guard let t = a.tax, t.category == code, let charge = a.isCharge else { continue }
            if let rate, t.rate?.value != rate { continue }
            if charge { charges += a.amount?.value ?? 0 } else { allowances += a.amount?.value ?? 0 }
        }
        return r2(lines) + r2(charges) - r2(allowances)
    }

    /// -09 (the breakdown's tax amount) and -10 (exemption reason present exactly when the
    /// category is exempt) are reported the same way in both syntaxes; only -09's arithmetic differs.
    static func reportTaxAmountAndReason(_ c: RuleContext, code: String, prefix: String, index i: Int, _ b: M.VATBreakdown,
                                         amountOK: Bool, at: @autoclosure () -> String) {
        if !amountOK {
            c.fail(id(prefix, 9), .coherence, code == "S"
                ? "VAT breakdown \(i + 1) (category S): the tax amount (BT-117) \(shown(b.taxAmount)) is not taxable amount × rate"
                : "VAT breakdown \(i + 1) (category \(code)): the tax amount (BT-117) must be 0 (\(shown(b.taxAmount)))", at: at())
        }
        let hasReason = b.tax.exemptionReason != nil || b.tax.exemptionReasonCode != nil
        if code == "S" || code == "Z" {
            if hasReason { c.fail(id(prefix, 10), .semantic, "VAT breakdown \(i + 1) (category \(code)) must not carry an exemption reason (BT-120/BT-121)", at: at()) }
        } else if !hasReason {
            c.fail(id(prefix, 10), .semantic, "VAT breakdown \(i + 1) (category \(code)) needs an exemption reason text or code (BT-120/BT-121)", at: at())
        }
    }

    static func breakdownCII(_ c: RuleContext, code: String, prefix: String, index i: Int, _ b: M.VATBreakdown, at: @autoclosure () -> String) {
        let m = c.model
        let basis = b.taxableAmount?.value
        // -08
        var ok8 = false
        switch code {
        case "S":
            if let rate = b.tax.rate {
                if let r = rate.value, let basis { ok8 = basis == expectedCII(m, code: code, rate: r) }
            } else { ok8 = true }
        case "O":
            if let basis { ok8 = basis == expectedCII(m, code: code, rate: nil) }
        default:
            if let basis {
                let e = expectedCII(m, code: code, rate: nil)
                ok8 = basis - 1 < e && basis + 1 > e
            }
        }
        if !ok8 {
            c.fail(id(prefix, 8), .coherence, "VAT breakdown \(i + 1) (category \(code)): the taxable amount (BT-116) \(shown(b.taxableAmount)) does not match the lines and allowances/charges of that category", at: at())
        }
        // -09
        var ok9 = false
        if code == "S" {
            // `round(abs(xs:decimal(basis)) * rate) div 100`: the untyped rate makes it xs:double.
            if let calc = b.taxAmount?.value, let basis, let rate = b.tax.rate.flatMap({ XSDecimal.double($0.raw) }) {
                let e = XSDecimal.round(XSDecimal.toDouble(basis.magnitudeValue) * rate) / 100
                let a = calc.magnitudeValue
                ok9 = XSDecimal.toDouble(a - 1) < e && XSDecimal.toDouble(a + 1) > e
            }
        } else {
            ok9 = b.taxAmount?.value == 0
        }
        reportTaxAmountAndReason(c, code: code, prefix: prefix, index: i, b, amountOK: ok9, at: at())
        if code == "K" {
            let f = c.model
            if f.delivery?.actualDate == nil && f.invoicePeriod?.start == nil && f.invoicePeriod?.end == nil {
                c.fail("BR-IC-11", .semantic, "an intra-community supply needs the actual delivery date (BT-72) or the invoicing period (BG-14)", at: at())
            }
            if f.delivery?.address?.country == nil {
                c.fail("BR-IC-12", .semantic, "an intra-community supply needs the deliver-to country code (BT-80)", at: at())
            }
        }
        if code == "O" {
            let m = c.model
            let otherTax = m.vatBreakdown.contains { $0.tax.category != nil && $0.tax.category != "O" }
                || m.lines.contains { $0.taxes.contains { $0.category != nil && $0.category != "O" } }
            if otherTax {
                c.fail("BR-O-11", .coherence, "an invoice with VAT category O must not contain other VAT categories (breakdown)", at: at())
                c.fail("BR-O-12", .coherence, "an invoice with VAT category O must not contain other VAT categories (lines)", at: at())
            }
            if m.allowancesCharges.contains(where: { $0.tax?.category != nil && $0.tax?.category != "O" }) {
                c.fail("BR-O-13", .coherence, "an invoice with VAT category O must not contain allowances with other VAT categories", at: at())
                c.fail("BR-O-14", .coherence, "an invoice with VAT category O must not contain charges with other VAT categories", at: at())
            }
        }
    }

    // MARK: UBL

    static func checkUBL(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let seller = m.seller, buyer = m.buyer, rep = m.taxRepresentative
        let vat: (M.Identifier) -> Bool = { InvoiceModel.isVAT($0.scheme, trimming: true) }
        let sellerAny = !(seller?.taxRegistrations.isEmpty ?? true)
        let sellerVAT = seller?.taxRegistrations.contains(where: vat) ?? false
        let repVAT = rep?.taxRegistrations.contains(where: vat) ?? false
        let buyerVAT = buyer?.taxRegistrations.contains(where: vat) ?? false
        let buyerLegal = !(buyer?.legalIDs.isEmpty ?? true)

        func partiesOK(_ code: String) -> Bool {
            switch code {
            case "AE": return (sellerAny || repVAT) && (buyerVAT || buyerLegal)
            case "G": return sellerVAT || repVAT
            case "K": return (sellerVAT || repVAT) && buyerVAT
            case "O": return !sellerVAT && !repVAT && !buyerVAT
            default: return sellerAny || repVAT
            }
        }

        // Each use's trimmed category code and VAT flag once: the loop below asks for them per
        // category (7) and per rule, and both are computed properties over strings.
        struct Use<T> {
            let item: T
            let code: String
            let vat: Bool
            init(_ item: T, _ tax: M.TaxCategory) { self.item = item; code = tax.code; vat = tax.isVATNormalized }
        }
        let subtotals = m.vatBreakdown.enumerated().filter { $0.element.hasCategoryElement }.map { Use($0, $0.element.tax) }
        let classified = m.lines.enumerated().flatMap { (i, l) in l.taxes.map { Use((i, $0), $0) } }
        // Every AllowanceCharge/TaxCategory, document level and line level.
        var acTaxes: [Use<(doc: Int?, ac: M.AllowanceCharge, tax: M.TaxCategory)>] = m.allowancesCharges.enumerated().compactMap { (i, a) in
            a.tax.map { Use((i, a, $0), $0) }
        }
        for l in m.lines { for a in l.allowancesCharges { if let t = a.tax { acTaxes.append(Use((nil, a, t), t)) } } }
        let acPairs = acTaxes.map { ($0.item.ac, $0.item.tax) }

        for (code, prefix) in categories {
            let label = name[code]!
            let subCountVAT = subtotals.filter { $0.vat && $0.code == code }.count
            let ok01: Bool
            if code == "S" {
                let uses = acTaxes.filter { $0.code == "S" }.count + classified.filter { $0.code == "S" }.count
                let subs = subtotals.filter { $0.code == "S" }.count
                ok01 = (uses > 0 && subs > 0) || (uses == 0 && subs == 0)
            } else {
                let any = subCountVAT > 0 || acTaxes.contains { $0.vat && $0.code == code }
                    || classified.contains { $0.vat && $0.code == code }
                ok01 = (any && subCountVAT == 1) || !any
            }
            if !ok01 {
                c.fail(id(prefix, 1), .coherence, "an invoice using VAT category \(code) (\(label)) needs exactly one VAT breakdown (BG-23) for it", at: p.root + "/cac:TaxTotal")
            }
            let lineUses = classified.filter { $0.code == code && $0.vat }.map(\.item)
            if !lineUses.isEmpty, !partiesOK(code) {
                c.fail(id(prefix, 2), .semantic, "lines with VAT category \(code) need the seller/buyer VAT identifiers the category requires", at: p.line(lineUses[0].0))
            } else if code == "S", lineUses.isEmpty, classified.contains(where: { $0.code == "S" }) {
                c.fail(id(prefix, 2), .semantic, "lines with VAT category S need the seller VAT identifier", at: p.root)
            }
            for charge in [false, true] {
                let uses = acTaxes.filter { $0.item.ac.isCharge == charge && $0.code == code && $0.vat }.map(\.item)
                let docOnly = code == "O" ? uses.filter { $0.doc != nil } : uses
                if !docOnly.isEmpty, !partiesOK(code) {
                    c.fail(id(prefix, charge ? 4 : 3), .semantic, "\(charge ? "charges" : "allowances") with VAT category \(code) need the seller/buyer VAT identifiers the category requires", at: p.root + "/cac:AllowanceCharge")
                }
                for u in uses where !rateOK(code, u.tax.rate) {
                    c.fail(id(prefix, charge ? 7 : 6), .semantic, "an \(charge ? "charge" : "allowance") with VAT category \(code): the rate \(rateMessage(code)) (\(shown(u.tax.rate)))",
                           at: u.doc.map { p.allowanceCharge($0) + "/cac:TaxCategory" } ?? p.root)
                }
            }
            for (i, t) in lineUses where !rateOK(code, t.rate) {
                c.fail(id(prefix, 5), .semantic, "line \(i + 1): the VAT rate of category \(code) \(rateMessage(code)) (\(shown(t.rate)))", at: p.line(i) + "/cac:Item/cac:ClassifiedTaxCategory")
            }
            for sub in subtotals where sub.code == code && sub.vat {
                let (i, b) = sub.item
                breakdownUBL(c, code: code, prefix: prefix, index: i, b, acTaxes: acPairs, at: p.vat(i, in: m) + "/cac:TaxCategory")
            }
        }
        // Root-level K and O rules.
        if subtotals.contains(where: { $0.vat && $0.code == "K" }) {
            if norm(m.delivery?.actualDate?.raw).count <= 1 && !(m.invoicePeriod?.hasChildren ?? false) {
                c.fail("BR-IC-11", .semantic, "an intra-community supply needs the actual delivery date (BT-72) or the invoicing period (BG-14)", at: p.root)
            }
            if (m.delivery?.address?.country ?? "").count <= 1 {
                c.fail("BR-IC-12", .semantic, "an intra-community supply needs the deliver-to country code (BT-80)", at: p.root)
            }
        }
        if subtotals.contains(where: { $0.vat && $0.code == "O" }) {
            if subtotals.contains(where: { $0.vat && $0.code != "O" }) {
                c.fail("BR-O-11", .coherence, "an invoice with VAT category O must not contain other VAT categories (breakdown)", at: p.root)
            }
            if classified.contains(where: { $0.vat && $0.code != "O" }) {
                c.fail("BR-O-12", .coherence, "an invoice with VAT category O must not contain other VAT categories (lines)", at: p.root)
            }
            let acAll = acTaxes
            if acAll.contains(where: { $0.item.ac.isCharge == false && $0.vat && $0.code != "O" }) {
                c.fail("BR-O-13", .coherence, "an invoice with VAT category O must not contain allowances with other VAT categories", at: p.root)
            }
            if acAll.contains(where: { $0.item.ac.isCharge == true && $0.vat && $0.code != "O" }) {
                c.fail("BR-O-14", .coherence, "an invoice with VAT category O must not contain charges with other VAT categories", at: p.root)
            }
        }
    }

    static func breakdownUBL(_ c: RuleContext, code: String, prefix: String, index i: Int, _ b: M.VATBreakdown,
                             acTaxes: [(M.AllowanceCharge, M.TaxCategory)], at: @autoclosure () -> String) {
        let m = c.model
        let taxable = b.taxableAmount?.value
        // Document level allowances/charges only for the sums.
        func acSum(charge: Bool, rate: XSDec?) -> XSDec {
            m.allowancesCharges.reduce(XSDec(0)) { acc, a in
                guard a.isCharge == charge, let t = a.tax, t.code == code else { return acc }
                if let rate, t.rate?.value != rate { return acc }
                return acc + (a.amount?.value ?? 0)
            }
        }
        func lineSum(rate: XSDec?) -> XSDec {
            m.lines.reduce(XSDec(0)) { acc, l in
                guard l.taxes.contains(where: { $0.code == code }) else { return acc }
                if let rate, !l.taxes.contains(where: { $0.rate?.value == rate }) { return acc }
                return acc + (l.netAmount?.value ?? 0)
            }
        }
        var ok8 = false
        if code == "S" {
            if let rateN = b.tax.rate {
                if let rate = rateN.value, let taxable {
                    let lineExists = m.lines.contains { l in l.taxes.contains { $0.code == "S" } && l.taxes.contains { $0.rate?.value == rate } }
                    let acExists = acTaxes.contains { $0.1.code == "S" && $0.1.rate?.value == rate }
                    let e = lineSum(rate: rate) + acSum(charge: true, rate: rate) - acSum(charge: false, rate: rate)
                    let eNoLines = acSum(charge: true, rate: rate) - acSum(charge: false, rate: rate)
                    ok8 = ((lineExists || acExists) && taxable - 1 < e && taxable + 1 > e)
                        || (acExists && taxable - 1 < eNoLines && taxable + 1 > eNoLines)
                }
            } else { ok8 = true }
        } else if let taxable, !m.lines.isEmpty {
            ok8 = taxable == lineSum(rate: nil) + acSum(charge: true, rate: nil) - acSum(charge: false, rate: nil)
        }
        if !ok8 {
            c.fail(id(prefix, 8), .coherence, "VAT breakdown \(i + 1) (category \(code)): the taxable amount (BT-116) \(shown(b.taxableAmount)) does not match the lines and allowances/charges of that category", at: at())
        }
        var ok9 = false
        if code == "S" {
            if let tax = b.taxAmount?.value, let taxable, let rate = b.tax.rate?.value {
                let e = XSDecimal.round2(XSDecimal.shift(taxable.magnitudeValue * rate, -2))
                ok9 = tax.magnitudeValue - 1 < e && tax.magnitudeValue + 1 > e
            }
        } else {
            ok9 = b.taxAmount?.value == 0
        }
        reportTaxAmountAndReason(c, code: code, prefix: prefix, index: i, b, amountOK: ok9, at: at())
    }
}
