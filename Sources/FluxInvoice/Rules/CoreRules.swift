import Foundation

/// EN 16931 mandatory terms and structure (BR-01..BR-65, BR-CO-03/04/09/18..26, the line and
/// allowance/charge BR-DEC rules), as the CEN 1.3.16 Schematron states them per syntax.
enum CoreRules {
    static let ruleIDs: [String] = [
        "BR-01", "BR-02", "BR-03", "BR-04", "BR-05", "BR-06", "BR-07", "BR-08", "BR-09", "BR-10", "BR-11",
        "BR-12", "BR-13", "BR-14", "BR-15", "BR-16", "BR-17", "BR-18", "BR-19", "BR-20", "BR-21", "BR-22",
        "BR-23", "BR-24", "BR-25", "BR-26", "BR-27", "BR-28", "BR-29", "BR-30", "BR-31", "BR-32", "BR-33",
        "BR-36", "BR-37", "BR-38", "BR-41", "BR-42", "BR-43", "BR-44", "BR-45", "BR-46", "BR-47", "BR-48",
        "BR-49", "BR-50", "BR-51", "BR-52", "BR-54", "BR-55", "BR-56", "BR-57", "BR-61", "BR-62", "BR-63",
        "BR-64", "BR-65",
        "BR-CO-03", "BR-CO-04", "BR-CO-09", "BR-CO-18", "BR-CO-19", "BR-CO-20", "BR-CO-21", "BR-CO-22",
        "BR-CO-23", "BR-CO-24", "BR-CO-26",
        "BR-DEC-01", "BR-DEC-02", "BR-DEC-05", "BR-DEC-06", "BR-DEC-19", "BR-DEC-20", "BR-DEC-23",
        "BR-DEC-24", "BR-DEC-25", "BR-DEC-27", "BR-DEC-28",
    ]

    static func check(_ c: RuleContext) {
        document(c)
        parties(c)
        lines(c)
        allowancesCharges(c)
        vatBreakdown(c)
        payment(c)
        references(c)
    }

    typealias M = InvoiceModel

    // MARK: document level (BR-01..BR-16)

    static func document(_ c: RuleContext) {
        let m = c.model, p = c.paths
        func missing(_ id: String, _ what: String, _ path: String) {
            c.fail(id, .semantic, "\(what) is missing", at: path)
        }
        if !filled(m.specificationID) {
            missing("BR-01", "the specification identifier (BT-24)", p.cii ? p.context + "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID" : p.root + "/cbc:CustomizationID")
        }
        if !filled(m.number) { missing("BR-02", "the invoice number (BT-1)", p.cii ? p.document + "/ram:ID" : p.root + "/cbc:ID") }
        // CII only counts a DateTimeString with format 102.
        let issue = m.issueDate.flatMap { p.cii && $0.format != "102" ? nil : $0.raw }
        if !filled(issue) {
            missing("BR-03", "the issue date (BT-2)", p.cii ? p.document + "/ram:IssueDateTime/udt:DateTimeString" : p.root + "/cbc:IssueDate")
        }
        if !filled(m.typeCode) {
            missing("BR-04", "the invoice type code (BT-3)", p.cii ? p.document + "/ram:TypeCode" : p.root + (m.syntax == .ublCreditNote ? "/cbc:CreditNoteTypeCode" : "/cbc:InvoiceTypeCode"))
        }
        if !filled(m.currency) {
            missing("BR-05", "the invoice currency code (BT-5)", p.cii ? p.settlement + "/ram:InvoiceCurrencyCode" : p.root + "/cbc:DocumentCurrencyCode")
        }
        if !filled(m.seller?.name) {
            missing("BR-06", "the seller name (BT-27)", p.cii ? p.party(.seller) + "/ram:Name" : p.party(.seller) + "/cac:PartyLegalEntity/cbc:RegistrationName")
        }
        if !filled(m.buyer?.name) {
            missing("BR-07", "the buyer name (BT-44)", p.cii ? p.party(.buyer) + "/ram:Name" : p.party(.buyer) + "/cac:PartyLegalEntity/cbc:RegistrationName")
        }
        let addr = p.cii ? "/ram:PostalTradeAddress" : "/cac:PostalAddress"
        let country = p.cii ? "/ram:CountryID" : "/cac:Country/cbc:IdentificationCode"
        if m.seller?.address == nil { missing("BR-08", "the seller postal address (BG-5)", p.party(.seller) + addr) }
        // CII asserts the country on the invoice; UBL only when the address exists.
        if (p.cii || m.seller?.address != nil), !filled(m.seller?.address?.country) {
            missing("BR-09", "the seller country code (BT-40)", p.party(.seller) + addr + country)
        }
        if m.buyer?.address == nil { missing("BR-10", "the buyer postal address (BG-8)", p.party(.buyer) + addr) }
        if (p.cii || m.buyer?.address != nil), !filled(m.buyer?.address?.country) {
            missing("BR-11", "the buyer country code (BT-55)", p.party(.buyer) + addr + country)
        }
        if let t = m.totals, t.hasSummation {
            if t.lineTotal == nil { missing("BR-12", "the sum of invoice line net amounts (BT-106)", p.total("LineTotalAmount", "LineExtensionAmount")) }
            if t.taxBasisTotal == nil { missing("BR-13", "the invoice total without VAT (BT-109)", p.total("TaxBasisTotalAmount", "TaxExclusiveAmount")) }
            if t.grandTotal == nil { missing("BR-14", "the invoice total with VAT (BT-112)", p.total("GrandTotalAmount", "TaxInclusiveAmount")) }
            if t.duePayable == nil { missing("BR-15", "the amount due for payment (BT-115)", p.total("DuePayableAmount", "PayableAmount")) }
        }
        if m.lines.isEmpty { missing("BR-16", "an invoice line (BG-25)", p.cii ? p.tx : p.root) }
    }

    // MARK: parties (BR-17..20, BR-56, BR-62, BR-63, BR-CO-09, BR-CO-26)

    static func parties(_ c: RuleContext) {
        let m = c.model, p = c.paths
        if let payee = m.payee {
            let seller = m.seller
            let ok: Bool
            if p.cii {
                let name = payee.name
                let sellerIDs = Set((seller?.identifiers ?? []).filter { !$0.isGlobal }.map(\.value))
                let payeeIDs = payee.identifiers.filter { !$0.isGlobal }.map(\.value)
                let sellerLegal = Set((seller?.legalIDs ?? []).map(\.value))
                ok = name != nil && name != seller?.name && !payeeIDs.contains(where: sellerIDs.contains)
                    && !payee.legalIDs.contains { sellerLegal.contains($0.value) }
            } else {
                let name = payee.tradingName
                let sellerIDs = Set((seller?.identifiers ?? []).map(\.value))
                ok = name != nil && name != seller?.tradingName && !payee.identifiers.contains { sellerIDs.contains($0.value) }
            }
            if !ok { c.fail("BR-17", .semantic, "the payee (BG-10) needs a name (BT-59) and must differ from the seller", at: p.party(.payee)) }
        }
        if let rep = m.taxRepresentative {
            func at() -> String { p.party(.taxRepresentative) }
            if !filled(p.cii ? rep.name : rep.tradingName) { c.fail("BR-18", .semantic, "the seller tax representative name (BT-62) is missing", at: at()) }
            if rep.address == nil { c.fail("BR-19", .semantic, "the seller tax representative postal address (BG-12) is missing", at: at()) }
            if (p.cii || rep.address != nil), !filled(rep.address?.country) {
                c.fail("BR-20", .semantic, "the seller tax representative country code (BT-69) is missing", at: at())
            }
            let hasVAT = p.cii
                ? filled(rep.taxRegistrations.first { $0.scheme == "VA" }?.value)
                : rep.taxRegistrations.contains { InvoiceModel.isVAT($0.scheme, trimming: true) }
            if !hasVAT { c.fail("BR-56", .semantic, "the seller tax representative VAT identifier (BT-63) is missing", at: at()) }
        }
        for (party, id, role) in [(m.seller, "BR-62", M.PartyRole.seller), (m.buyer, "BR-63", .buyer)] {
            guard let party, party.endpointCount > 0 else { continue }
            let ok = p.cii ? filled(party.endpoint?.scheme) : party.endpointHasSchemeAttribute
            if !ok {
                c.fail(id, .semantic, "the \(role == .seller ? "seller (BT-34)" : "buyer (BT-49)") electronic address has no scheme identifier", at: p.party(role) + (p.cii ? "/ram:URIUniversalCommunication/ram:URIID" : "/cbc:EndpointID"))
            }
        }
        // BR-CO-09: VAT identifiers start with an ISO 3166 code (or EL / XI / 1A).
        for h in c.facts.vatIdentifiers {
            let prefix = String(h.value.prefix(2))
            let ok = !p.cii && prefix.isEmpty ? true : p.cii ? CodeLists.vatPrefixesCII.contains(prefix) && !prefix.utf8.contains(0x20) && prefix.count == 2
                : FrenchRules.contains(CodeLists.vatPrefixesUBL, prefix)
            if !ok { c.fail("BR-CO-09", .semantic, "the VAT identifier '\(h.value)' must start with a country code prefix", at: h.path) }
        }
        if let s = m.seller {
            let ok: Bool
            if p.cii {
                ok = !s.identifiers.isEmpty || !s.legalIDs.isEmpty || s.taxRegistrations.contains { $0.scheme == "VA" }
            } else {
                ok = s.taxRegistrations.contains { InvoiceModel.isVAT($0.scheme, trimming: true) }
                    || s.identifiers.contains { $0.scheme != "SEPA" } || !s.legalIDs.isEmpty
            }
            if !ok {
                c.fail("BR-CO-26", .semantic, "the seller needs an identifier (BT-29), a legal registration identifier (BT-30) or a VAT identifier (BT-31)", at: p.party(.seller))
            }
        }
    }

    // MARK: lines (BR-21..28, BR-30, BR-41..44, BR-54, BR-64, BR-65, BR-CO-04, BR-CO-18, BR-CO-20, BR-CO-23, BR-CO-24)

    static func lines(_ c: RuleContext) {
        let m = c.model, p = c.paths
        // CII asserts BR-CO-18 on each line: only an invoice with lines needs a breakdown.
        if p.cii, !m.lines.isEmpty, m.vatBreakdown.isEmpty {
            c.fail("BR-CO-18", .semantic, "the invoice needs at least one VAT breakdown (BG-23)", at: p.settlement)
        }
        for (i, l) in m.lines.enumerated() {
            func at() -> String { p.line(i) }
            if !filled(l.id) { c.fail("BR-21", .semantic, "line \(i + 1): the line identifier (BT-126) is missing", at: at()) }
            if !l.hasQuantity { c.fail("BR-22", .semantic, "line \(i + 1): the invoiced quantity (BT-129) is missing", at: at()) }
            if !l.hasUnitCode { c.fail("BR-23", .semantic, "line \(i + 1): the unit of measure (BT-130) is missing", at: at()) }
            if l.netAmount == nil { c.fail("BR-24", .semantic, "line \(i + 1): the line net amount (BT-131) is missing", at: at()) }
            if !filled(l.itemName) { c.fail("BR-25", .semantic, "line \(i + 1): the item name (BT-153) is missing", at: at()) }
            if l.netPrice == nil { c.fail("BR-26", .semantic, "line \(i + 1): the item net price (BT-146) is missing", at: at()) }
            // `(price) >= 0`: false when absent or negative.
            if !(l.netPrice?.value.map { $0 >= 0 } ?? false) {
                c.fail("BR-27", .semantic, "line \(i + 1): the item net price (BT-146) must not be negative (\(shown(l.netPrice)))", at: at())
            }
            if let g = l.grossPrice, !(g.value.map { $0 >= 0 } ?? false) {
                c.fail("BR-28", .semantic, "line \(i + 1): the item gross price (BT-148) must not be negative (\(shown(g)))", at: at())
            }
            if l.standardItemID != nil, !(p.cii ? filled(l.standardItemID?.scheme) : l.standardItemIDHasScheme) {
                c.fail("BR-64", .semantic, "line \(i + 1): the item standard identifier (BT-157) has no scheme identifier", at: at())
            }
            if !l.classificationsHaveListID {
                c.fail("BR-65", .semantic, "line \(i + 1): the item classification (BT-158) has no list identifier", at: at())
            }
            if l.incompleteAttributes > 0 {
                c.fail("BR-54", .semantic, "line \(i + 1): an item attribute (BG-32) needs both a name and a value", at: at())
            }
            let hasVAT = p.cii
                ? l.taxes.contains { InvoiceModel.isVAT($0.scheme, trimming: false) && $0.category != nil }
                : l.taxes.contains { $0.isVATNormalized && $0.category != nil }
            if !hasVAT { c.fail("BR-CO-04", .semantic, "line \(i + 1): the invoiced item VAT category code (BT-151) is missing", at: at()) }
            if !twoDecimals(l.netAmount) {
                c.fail("BR-DEC-23", .semantic, "line \(i + 1): the line net amount (BT-131) has more than 2 decimals (\(shown(l.netAmount)))", at: at())
            }
            if let pr = l.period {
                checkPeriod(c, pr, start: "BR-30", atLeastOne: "BR-CO-20", line: i + 1, at: at())
            }
            for (j, ac) in l.allowancesCharges.enumerated() {
                lineAllowanceCharge(c, ac, line: i, index: j)
            }
        }
    }

    /// BR-29/BR-30 (end not before start) and BR-CO-19/BR-CO-20 (at least one date).
    static func checkPeriod(_ c: RuleContext, _ pr: M.Period, start rule: String, atLeastOne coRule: String, line: Int?, at: @autoclosure () -> String) {
        let label = line.map { "line \($0): " } ?? ""
        if c.cii {
            // Compared as strings, and only DateTimeString values with format 102 count.
            let s = pr.start.flatMap { $0.format == "102" ? $0.raw : nil }
            let e = pr.end.flatMap { $0.format == "102" ? $0.raw : nil }
            if pr.start != nil, pr.end != nil, !(s != nil && e != nil && e! >= s!) {
                c.fail(rule, .coherence, "\(label)the period end date is before its start date", at: at())
            }
        } else if let s = pr.start, let e = pr.end {
            if !(norm(e.raw) >= norm(s.raw)) { c.fail(rule, .coherence, "\(label)the period end date is before its start date", at: at()) }
        }
        let ubl = !c.cii && line == nil
        let ok = pr.start != nil || pr.end != nil || (ubl && pr.descriptionCode != nil)
        if !ok { c.fail(coRule, .semantic, "\(label)a period needs a start date or an end date", at: at()) }
    }

    static func lineAllowanceCharge(_ c: RuleContext, _ ac: M.AllowanceCharge, line: Int, index: Int) {
        func at() -> String { c.paths.lineAllowanceCharge(line, index) }
        // CII compares the indicator as a string, UBL as a boolean.
        let isCharge: Bool? = c.cii ? (ac.indicator == "true" ? true : ac.indicator == "false" ? false : nil) : ac.isCharge
        guard let isCharge else { return }
        let ids = isCharge ? ("BR-43", "BR-44", "BR-CO-24", "BR-DEC-27", "BR-DEC-28") : ("BR-41", "BR-42", "BR-CO-23", "BR-DEC-24", "BR-DEC-25")
        let what = isCharge ? "line charge" : "line allowance"
        if ac.amount == nil { c.fail(ids.0, .semantic, "line \(line + 1): the \(what) amount is missing", at: at()) }
        if ac.reason == nil && ac.reasonCode == nil {
            c.fail(ids.1, .semantic, "line \(line + 1): the \(what) needs a reason or a reason code", at: at())
            c.fail(ids.2, .semantic, "line \(line + 1): the \(what) needs a reason or a reason code", at: at())
        }
        if !twoDecimals(ac.amount) { c.fail(ids.3, .semantic, "line \(line + 1): the \(what) amount has more than 2 decimals", at: at()) }
        if !twoDecimals(ac.baseAmount) { c.fail(ids.4, .semantic, "line \(line + 1): the \(what) base amount has more than 2 decimals", at: at()) }
    }

    // MARK: document allowances and charges (BR-31..38, BR-CO-21/22, BR-DEC-01/02/05/06)

    static func allowancesCharges(_ c: RuleContext) {
        for (i, ac) in c.model.allowancesCharges.enumerated() {
            func at() -> String { c.paths.allowanceCharge(i) }
            let isCharge: Bool? = c.cii ? (ac.indicator == "true" ? true : ac.indicator == "false" ? false : nil) : ac.isCharge
            guard let isCharge else { continue }
            let ids = isCharge ? ("BR-36", "BR-37", "BR-38", "BR-CO-22", "BR-DEC-05", "BR-DEC-06") : ("BR-31", "BR-32", "BR-33", "BR-CO-21", "BR-DEC-01", "BR-DEC-02")
            let what = isCharge ? "document level charge" : "document level allowance"
            if ac.amount == nil { c.fail(ids.0, .semantic, "the \(what) amount is missing", at: at()) }
            let hasVAT = c.cii ? (ac.tax.map { InvoiceModel.isVAT($0.scheme, trimming: false) && $0.category != nil } ?? false)
                : (ac.tax.map { $0.isVATNormalized && $0.category != nil } ?? false)
            if !hasVAT { c.fail(ids.1, .semantic, "the \(what) VAT category code is missing", at: at()) }
            if ac.reason == nil && ac.reasonCode == nil {
                c.fail(ids.2, .semantic, "the \(what) needs a reason or a reason code", at: at())
                c.fail(ids.3, .semantic, "the \(what) needs a reason or a reason code", at: at())
            }
            if !twoDecimals(ac.amount) { c.fail(ids.4, .semantic, "the \(what) amount has more than 2 decimals (\(shown(ac.amount)))", at: at()) }
            if !twoDecimals(ac.baseAmount) { c.fail(ids.5, .semantic, "the \(what) base amount has more than 2 decimals (\(shown(ac.baseAmount)))", at: at()) }
        }
    }

    // MARK: VAT breakdown mandatory terms (BR-45..48, BR-CO-03, BR-DEC-19/20)

    /// CII: breakdowns with category O, L or M are matched by the category rules first and
    /// never reach the generic breakdown rule (Schematron first-match semantics).
    static func genericBreakdownApplies(_ b: M.VATBreakdown, cii: Bool) -> Bool {
        guard cii else { return true }
        let cat = b.tax.category ?? ""
        let isVAT = b.tax.isVATRaw
        return !(isVAT && (cat == "O" || cat == "L" || cat == "M"))
    }

    static func vatBreakdown(_ c: RuleContext) {
        let m = c.model
        var coChecked = false
        for (i, b) in m.vatBreakdown.enumerated() where genericBreakdownApplies(b, cii: c.cii) {
            func at() -> String { c.paths.vat(i, in: m) }
            if b.taxableAmount == nil { c.fail("BR-45", .semantic, "VAT breakdown \(i + 1): the category taxable amount (BT-116) is missing", at: at()) }
            if b.taxAmount == nil { c.fail("BR-46", .semantic, "VAT breakdown \(i + 1): the category tax amount (BT-117) is missing", at: at()) }
            let isVAT = c.cii ? b.tax.isVATRaw : b.tax.isVATNormalized
            if !(isVAT && b.tax.category != nil) {
                c.fail("BR-47", .semantic, "VAT breakdown \(i + 1): the VAT category code (BT-118) is missing", at: at())
            }
            let isO = c.cii ? (isVAT && b.tax.category == "O") : (isVAT && b.tax.code == "O")
            if !((isVAT && b.tax.rate != nil) || isO) {
                c.fail("BR-48", .semantic, "VAT breakdown \(i + 1): the VAT category rate (BT-119) is missing", at: at())
            }
            if !twoDecimals(b.taxableAmount) { c.fail("BR-DEC-19", .semantic, "VAT breakdown \(i + 1): the taxable amount has more than 2 decimals", at: at()) }
            if !twoDecimals(b.taxAmount) { c.fail("BR-DEC-20", .semantic, "VAT breakdown \(i + 1): the tax amount has more than 2 decimals", at: at()) }
            if c.cii, !coChecked {
                coChecked = true
                if c.facts.taxPointDateCount > 0 && c.facts.dueDateTypeCodeCount > 0 {
                    c.fail("BR-CO-03", .coherence, "the VAT point date (BT-7) and the VAT point date code (BT-8) are mutually exclusive", at: at())
                }
            }
        }
        if !c.cii {
            if m.taxPointDate != nil && m.invoicePeriod?.descriptionCode != nil {
                c.fail("BR-CO-03", .coherence, "the VAT point date (BT-7) and the VAT point date code (BT-8) are mutually exclusive", at: c.paths.root + "/cbc:TaxPointDate")
            }
            if m.vatBreakdown.isEmpty {
                c.fail("BR-CO-18", .semantic, "the invoice needs at least one VAT breakdown (BG-23)", at: c.paths.root + "/cac:TaxTotal")
            }
        }
        if let pr = m.invoicePeriod {
            checkPeriod(c, pr, start: "BR-29", atLeastOne: "BR-CO-19", line: nil,
                   at: c.cii ? c.paths.settlement + "/ram:BillingSpecifiedPeriod" : c.paths.root + "/cac:InvoicePeriod")
        }
    }

    // MARK: payment (BR-49, BR-50, BR-51, BR-61)

    static func payment(_ c: RuleContext) {
        for (i, pm) in c.model.paymentMeans.enumerated() {
            func at() -> String { c.cii ? c.paths.settlement + "/ram:SpecifiedTradeSettlementPaymentMeans[\(i + 1)]" : c.paths.root + "/cac:PaymentMeans[\(i + 1)]" }
            if pm.code == nil { c.fail("BR-49", .semantic, "the payment means type code (BT-81) is missing", at: at()) }
            if c.cii {
                let transfer = pm.code == "30" || pm.code == "58"
                if transfer, pm.hasAccountElement {
                    if !pm.accounts.contains(where: filled) {
                        c.fail("BR-50", .semantic, "a credit transfer needs the payment account identifier (BT-84)", at: at())
                    }
                    if pm.accounts.isEmpty {
                        c.fail("BR-61", .semantic, "a credit transfer needs the payment account identifier (BT-84)", at: at())
                    }
                }
                if let card = pm.cardNumber, norm(card).count > 10 {
                    c.fail("BR-51", .semantic, "the payment card number (BT-87) must carry at most the last 10 digits", at: at())
                }
            } else {
                let code = norm(pm.code)
                let transfer = pm.code == "30" || pm.code == "58"
                if transfer, pm.hasAccountElement, !pm.accounts.contains(where: filled) {
                    c.fail("BR-50", .semantic, "a credit transfer needs the payment account identifier (BT-84)", at: at())
                }
                if (code == "30" || code == "58"), pm.accounts.isEmpty {
                    c.fail("BR-61", .semantic, "a credit transfer needs the payment account identifier (BT-84)", at: at())
                }
                if let card = pm.cardNumber, norm(card).count > 10 {
                    c.warn("BR-51", .semantic, "the payment card number (BT-87) should carry at most the last 10 digits", at: at())
                }
            }
        }
    }

    // MARK: references (BR-52, BR-55, BR-57)

    static func references(_ c: RuleContext) {
        let m = c.model, p = c.paths
        var docs = m.additionalDocuments
        if p.cii { docs += m.lines.flatMap(\.objectReferences) }
        for (i, d) in docs.enumerated() where !filled(d.id) {
            c.fail("BR-52", .semantic, "a supporting document (BG-24) has no reference (BT-122)",
                   at: p.cii ? p.agreement + "/ram:AdditionalReferencedDocument" : p.root + "/cac:AdditionalDocumentReference[\(i + 1)]")
        }
        // UBL's BR-55 context is any cac:BillingReference, line level included.
        let refs = p.cii ? m.precedingInvoices : m.precedingInvoices + m.lines.flatMap(\.precedingInvoices)
        for (i, r) in refs.enumerated() {
            let ok = p.cii ? filled(r.id) : (r.hasInvoiceDocumentReference && r.id != nil)
            if !ok {
                c.fail("BR-55", .semantic, "a preceding invoice reference (BG-3) has no invoice number (BT-25)",
                       at: p.cii ? p.settlement + "/ram:InvoiceReferencedDocument[\(i + 1)]" : p.root + "/cac:BillingReference[\(i + 1)]")
            }
        }
        if let d = m.delivery, let a = d.address {
            let ok = p.cii ? filled(a.country) : a.country != nil
            if !ok {
                c.fail("BR-57", .semantic, "the deliver-to address (BG-15) needs a country code (BT-80)",
                       at: p.cii ? p.tx + "/ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty/ram:PostalTradeAddress" : p.root + "/cac:Delivery/cac:DeliveryLocation/cac:Address")
            }
        }
        // UBL's context `cac:Delivery/cac:DeliveryLocation/cac:Address` also matches line deliveries.
        if !p.cii {
            for (i, l) in m.lines.enumerated() {
                if let a = l.shipTo?.address, a.country == nil {
                    c.fail("BR-57", .semantic, "line \(i + 1): the deliver-to address needs a country code (BT-80)", at: p.line(i) + "/cac:Delivery/cac:DeliveryLocation/cac:Address")
                }
            }
        }
    }
}
