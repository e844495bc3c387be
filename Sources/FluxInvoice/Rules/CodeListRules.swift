import Foundation

/// EN 16931 code-list rules where a small list suffices: type codes (BR-CL-01), currencies
/// (BR-CL-03/04/05), VAT point date codes (BR-CL-06), countries (BR-CL-14), payment means
/// (BR-CL-16), VAT categories (BR-CL-17/18), allowance/charge reasons (BR-CL-19/20), VATEX
/// (BR-CL-22), identifier schemes (BR-CL-10/11/21/26), units (BR-CL-23) and electronic address
/// schemes (BR-CL-25). The official test is "normalize-space(value) is one token of the list".
enum CodeListRules {
    static let ruleIDs: [String] = [
        "BR-CL-01", "BR-CL-03", "BR-CL-04", "BR-CL-05", "BR-CL-06", "BR-CL-14", "BR-CL-16", "BR-CL-17", "BR-CL-18",
        "BR-CL-10", "BR-CL-11", "BR-CL-19", "BR-CL-20", "BR-CL-21", "BR-CL-22", "BR-CL-23", "BR-CL-25", "BR-CL-26",
    ]

    static func check(_ c: RuleContext) {
        let f = c.facts
        func list(_ id: String, _ hits: [ExtractionFacts.Hit], _ set: Set<String>, _ what: String, upper: Bool = false) {
            for h in hits {
                let v = upper ? norm(h.value).uppercased() : norm(h.value)
                if !set.contains(v) { c.fail(id, .semantic, "'\(norm(h.value))' is not a valid \(what)", at: h.path) }
            }
        }
        for (h, creditNote) in f.typeCodes {
            let set = c.cii ? CodeLists.typeCodesCII : creditNote ? CodeLists.typeCodesUBLCreditNote : CodeLists.typeCodesUBLInvoice
            if !set.contains(norm(h.value)) {
                c.fail("BR-CL-01", .semantic, "'\(norm(h.value))' is not a valid invoice type code (BT-3, UNTDID 1001 subset)", at: h.path)
            }
        }
        list("BR-CL-03", f.currencyIDs, CodeLists.currencies, "currency code (ISO 4217) for an amount")
        list("BR-CL-04", f.invoiceCurrencyCodes, CodeLists.currencies, "invoice currency code (BT-5, ISO 4217)")
        list("BR-CL-05", f.taxCurrencyCodes, CodeLists.currencies, "VAT accounting currency code (BT-6, ISO 4217)")
        list("BR-CL-06", f.dueDateTypeCodes, c.cii ? CodeLists.dueDateTypeCodesCII : CodeLists.dueDateTypeCodesUBL, "VAT point date code (BT-8)")
        list("BR-CL-14", f.countryCodes, c.cii ? CodeLists.countriesCII : CodeLists.countriesUBL, "country code (ISO 3166-1 alpha-2)")
        list("BR-CL-16", f.paymentMeansCodes, CodeLists.paymentMeans, "payment means code (BT-81, UNTDID 4461)")
        for (rule, h) in f.schemeIDs where !CodeLists.icd.contains(norm(h.value)) {
            c.fail(rule, .semantic, "'\(norm(h.value))' is not a valid identifier scheme (ISO 6523 ICD)", at: h.path)
        }
        list("BR-CL-23", f.unitCodes, CodeLists.units, "unit of measure code (UN/ECE Rec. 20/21)")
        list("BR-CL-17", f.categoryCodesCL17, CodeLists.vatCategories, "VAT category code (UNTDID 5305 subset)")
        list("BR-CL-18", f.categoryCodesCL18, CodeLists.vatCategories, "VAT category code (UNTDID 5305 subset)")

        let m = c.model
        // BR-CL-19 / BR-CL-20: allowance and charge reason codes (document and line level).
        let paths = c.paths
        var acs: [(ac: InvoiceModel.AllowanceCharge, line: Int?, index: Int)] = m.allowancesCharges.enumerated().map { ($1, nil, $0) }
        for (i, l) in m.lines.enumerated() { acs += l.allowancesCharges.enumerated().map { ($1, i, $0) } }
        for (a, line, index) in acs {
            guard let code = a.reasonCode, let charge = a.isCharge else { continue }
            func at() -> String { line.map { paths.lineAllowanceCharge($0, index) } ?? paths.allowanceCharge(index) }
            if charge, !CodeLists.chargeReasons.contains(norm(code)) {
                c.fail("BR-CL-20", .semantic, "'\(norm(code))' is not a valid charge reason code (UNTDID 7161)", at: at())
            } else if !charge, !CodeLists.allowanceReasons.contains(norm(code)) {
                c.fail("BR-CL-19", .semantic, "'\(norm(code))' is not a valid allowance reason code (UNTDID 5189)", at: at())
            }
        }
        // BR-CL-22: exemption reason codes wherever a VAT category carries one.
        func vatex(_ code: String?, _ at: @autoclosure () -> String) {
            guard let code, !CodeLists.vatex.contains(norm(code).uppercased()) else { return }
            c.fail("BR-CL-22", .semantic, "'\(norm(code))' is not a valid VAT exemption reason code (VATEX)", at: at())
        }
        for (i, b) in m.vatBreakdown.enumerated() { vatex(b.tax.exemptionReasonCode, paths.vat(i, in: m)) }
        for (i, l) in m.lines.enumerated() { for t in l.taxes { vatex(t.exemptionReasonCode, paths.line(i)) } }
        for (i, a) in m.allowancesCharges.enumerated() { vatex(a.tax?.exemptionReasonCode, paths.allowanceCharge(i)) }

        // BR-CL-25: electronic address schemes of every party that has one.
        var parties: [InvoiceModel.Party] = [m.seller, m.buyer, m.payee, m.taxRepresentative].compactMap { $0 }
        parties += m.otherParties
        for party in parties {
            guard let e = party.endpoint, c.cii ? e.scheme != nil : party.endpointHasSchemeAttribute else { continue }
            if !CodeLists.eas.contains(norm(e.scheme)) {
                c.fail("BR-CL-25", .semantic, "'\(norm(e.scheme))' is not a valid electronic address scheme (EAS)",
                       at: c.paths.party(party.role) + (c.cii ? "/ram:URIUniversalCommunication/ram:URIID" : "/cbc:EndpointID"))
            }
        }
    }
}
