@testable import FluxInvoice
import Foundation
import Testing

/// Generated defects on the two French samples that pass everything
/// (`FR-CII-EN16931-B2B-simple.xml`, `FR-UBL-EN16931-B2B-simple.xml`), checked by the official
/// oracle and by the native rules in one run: same accept/reject for every mutation, our ids a
/// subset of the oracle's, and at least one id in common whenever the oracle rejects.
@Suite("Mutations checked against the oracle", .serialized)
struct MutationOracleTests {
    struct Mutation: Sendable {
        var name: String
        var cii: Bool
        var apply: @Sendable (String) -> String
    }

    // MARK: text surgery helpers

    /// Replaces the `n`-th occurrence (1-based) of `a`, or all occurrences when `n` is nil.
    static func replace(_ s: String, _ a: String, _ b: String, nth n: Int? = nil) -> String {
        guard let n else { return s.replacingOccurrences(of: a, with: b) }
        var idx = s.startIndex
        var count = 0
        while let r = s.range(of: a, range: idx..<s.endIndex) {
            count += 1
            if count == n { return s.replacingCharacters(in: r, with: b) }
            idx = r.upperBound
        }
        return s
    }

    /// Removes the element `open…close` that encloses the first occurrence of `marker`.
    static func removeEnclosing(_ s: String, marker: String, open: String, close: String) -> String {
        guard let m = s.range(of: marker),
              let o = s.range(of: open, options: .backwards, range: s.startIndex..<m.lowerBound),
              let c = s.range(of: close, range: m.upperBound..<s.endIndex) else { return s }
        var start = o.lowerBound
        // take the indentation too
        while start > s.startIndex, s[s.index(before: start)] == " " { start = s.index(before: start) }
        var end = c.upperBound
        if end < s.endIndex, s[end] == "\n" { end = s.index(after: end) }
        return s.replacingCharacters(in: start..<end, with: "")
    }

    /// Inserts `text` right before the first occurrence of `marker`.
    static func insert(_ s: String, before marker: String, _ text: String) -> String {
        guard let r = s.range(of: marker) else { return s }
        return s.replacingCharacters(in: r.lowerBound..<r.lowerBound, with: text)
    }

    // MARK: the mutations

    static let ciiMutations: [Mutation] = [
        Mutation(name: "CII remove BT-1", cii: true) { replace($0, "<ram:ID>FA-2026-000123</ram:ID>", "") },
        Mutation(name: "CII remove BT-2", cii: true) { removeEnclosing($0, marker: "20260915", open: "<ram:IssueDateTime>", close: "</ram:IssueDateTime>") },
        Mutation(name: "CII remove BT-5", cii: true) { replace($0, "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", "") },
        Mutation(name: "CII remove BT-24", cii: true) { removeEnclosing($0, marker: "urn:cen.eu:en16931:2017", open: "<ram:GuidelineSpecifiedDocumentContextParameter>", close: "</ram:GuidelineSpecifiedDocumentContextParameter>") },
        Mutation(name: "CII remove seller name", cii: true) { replace($0, "<ram:Name>VENDEUR EXEMPLE SAS</ram:Name>", "") },
        Mutation(name: "CII remove buyer name", cii: true) { replace($0, "<ram:Name>ACHETEUR EXEMPLE SARL</ram:Name>", "") },
        Mutation(name: "CII wrong BT-112", cii: true) { replace($0, "<ram:GrandTotalAmount>1326.60</ram:GrandTotalAmount>", "<ram:GrandTotalAmount>1300.00</ram:GrandTotalAmount>") },
        Mutation(name: "CII wrong BT-109", cii: true) { replace($0, "<ram:TaxBasisTotalAmount>1120.00</ram:TaxBasisTotalAmount>", "<ram:TaxBasisTotalAmount>1100.00</ram:TaxBasisTotalAmount>") },
        Mutation(name: "CII wrong line amount", cii: true) { replace($0, "<ram:LineTotalAmount>1000.00</ram:LineTotalAmount>", "<ram:LineTotalAmount>999.00</ram:LineTotalAmount>") },
        Mutation(name: "CII VAT amount +1.00", cii: true) { replace($0, "<ram:CalculatedAmount>200.00</ram:CalculatedAmount>", "<ram:CalculatedAmount>201.00</ram:CalculatedAmount>") },
        Mutation(name: "CII bad currency code EUX", cii: true) { replace($0, "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", "<ram:InvoiceCurrencyCode>EUX</ram:InvoiceCurrencyCode>") },
        Mutation(name: "CII bad type code 999", cii: true) { replace($0, "<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>999</ram:TypeCode>") },
        Mutation(name: "CII type code 326 (not French)", cii: true) { replace($0, "<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>326</ram:TypeCode>") },
        Mutation(name: "CII bad VAT category on line 2", cii: true) { replace($0, "<ram:CategoryCode>S</ram:CategoryCode>", "<ram:CategoryCode>Q</ram:CategoryCode>", nth: 2) },
        Mutation(name: "CII VAT rate 19", cii: true) { replace($0, "<ram:RateApplicablePercent>20.00</ram:RateApplicablePercent>", "<ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>") },
        Mutation(name: "CII missing PMT note", cii: true) { removeEnclosing($0, marker: "<ram:SubjectCode>PMT</ram:SubjectCode>", open: "<ram:IncludedNote>", close: "</ram:IncludedNote>") },
        Mutation(name: "CII duplicate PMD note", cii: true) { replace($0, "<ram:SubjectCode>AAB</ram:SubjectCode>", "<ram:SubjectCode>PMD</ram:SubjectCode>") },
        Mutation(name: "CII BT-23 invalid", cii: true) { replace($0, "<ram:ID>S1</ram:ID>", "<ram:ID>S10</ram:ID>") },
        Mutation(name: "CII number with a space", cii: true) { replace($0, "FA-2026-000123", "FA-2026 000123") },
        Mutation(name: "CII issue date in 1999", cii: true) { replace($0, "20260915", "19990915") },
        Mutation(name: "CII seller SIREN of 8 digits", cii: true) { replace($0, "<ram:ID schemeID=\"0002\">100000009</ram:ID>", "<ram:ID schemeID=\"0002\">10000000</ram:ID>") },
        Mutation(name: "CII USD without BT-6", cii: true) {
            replace(replace($0, "<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", "<ram:InvoiceCurrencyCode>USD</ram:InvoiceCurrencyCode>"), "currencyID=\"EUR\"", "currencyID=\"USD\"")
        },
        Mutation(name: "CII credit note 381 without preceding invoice", cii: true) { replace($0, "<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>381</ram:TypeCode>") },
        Mutation(name: "CII corrective 384 without preceding invoice", cii: true) { replace($0, "<ram:TypeCode>380</ram:TypeCode>", "<ram:TypeCode>384</ram:TypeCode>") },
        Mutation(name: "CII missing buyer endpoint", cii: true) { removeEnclosing($0, marker: "200000008</ram:URIID>", open: "<ram:URIUniversalCommunication>", close: "</ram:URIUniversalCommunication>") },
        Mutation(name: "CII buyer endpoint scheme 0009", cii: true) { replace($0, "<ram:URIID schemeID=\"0225\">200000008</ram:URIID>", "<ram:URIID schemeID=\"0009\">200000008</ram:URIID>") },
        Mutation(name: "CII due date before issue date", cii: true) { replace($0, "20261015", "20260901") },
        Mutation(name: "CII BAR note B2X", cii: true) { replace($0, "<ram:Content>B2B</ram:Content>", "<ram:Content>B2X</ram:Content>") },
        Mutation(name: "CII seller SIRET of another SIREN", cii: true) { replace($0, "<ram:GlobalID schemeID=\"0009\">10000000900017</ram:GlobalID>", "<ram:GlobalID schemeID=\"0009\">20000000800017</ram:GlobalID>") },
        Mutation(name: "CII line amount with 3 decimals", cii: true) { replace($0, "<ram:LineTotalAmount>1000.00</ram:LineTotalAmount>", "<ram:LineTotalAmount>1000.000</ram:LineTotalAmount>") },
        Mutation(name: "CII quantity with 5 decimals", cii: true) { replace($0, "unitCode=\"DAY\">2<", "unitCode=\"DAY\">2.00000<") },
        Mutation(name: "CII prepaid amount without due update", cii: true) { insert($0, before: "<ram:DuePayableAmount>", "<ram:TotalPrepaidAmount>100.00</ram:TotalPrepaidAmount>\n        ") },
        Mutation(name: "CII no VAT breakdown", cii: true) {
            let a = removeEnclosing($0, marker: "<ram:CalculatedAmount>200.00", open: "<ram:ApplicableTradeTax>", close: "</ram:ApplicableTradeTax>")
            return removeEnclosing(a, marker: "<ram:CalculatedAmount>6.60", open: "<ram:ApplicableTradeTax>", close: "</ram:ApplicableTradeTax>")
        },
        Mutation(name: "CII exemption reason on S", cii: true) {
            replace($0, "<ram:CalculatedAmount>200.00</ram:CalculatedAmount>\n        <ram:TypeCode>VAT</ram:TypeCode>", "<ram:CalculatedAmount>200.00</ram:CalculatedAmount>\n        <ram:TypeCode>VAT</ram:TypeCode>\n        <ram:ExemptionReason>Exoneration</ram:ExemptionReason>")
        },
        Mutation(name: "CII remove seller VAT id", cii: true) { removeEnclosing($0, marker: "FR88100000009", open: "<ram:SpecifiedTaxRegistration>", close: "</ram:SpecifiedTaxRegistration>") },
        Mutation(name: "CII line 2 exempt without reason", cii: true) {
            var s = replace($0, "<ram:CategoryCode>S</ram:CategoryCode>\n          <ram:RateApplicablePercent>5.50</ram:RateApplicablePercent>", "<ram:CategoryCode>E</ram:CategoryCode>\n          <ram:RateApplicablePercent>0.00</ram:RateApplicablePercent>")
            s = replace(s, "<ram:CalculatedAmount>6.60</ram:CalculatedAmount>", "<ram:CalculatedAmount>0.00</ram:CalculatedAmount>")
            s = replace(s, "<ram:CategoryCode>S</ram:CategoryCode>\n        <ram:RateApplicablePercent>5.50</ram:RateApplicablePercent>", "<ram:CategoryCode>E</ram:CategoryCode>\n        <ram:RateApplicablePercent>0.00</ram:RateApplicablePercent>")
            s = replace(s, "<ram:TaxTotalAmount currencyID=\"EUR\">206.60</ram:TaxTotalAmount>", "<ram:TaxTotalAmount currencyID=\"EUR\">200.00</ram:TaxTotalAmount>")
            return replace(s, "1326.60", "1320.00")
        },
    ]

    static let ublMutations: [Mutation] = [
        Mutation(name: "UBL remove BT-1", cii: false) { replace($0, "<cbc:ID>FA-2026-000124</cbc:ID>", "") },
        Mutation(name: "UBL remove BT-2", cii: false) { replace($0, "<cbc:IssueDate>2026-09-15</cbc:IssueDate>", "") },
        Mutation(name: "UBL remove BT-5", cii: false) { replace($0, "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "") },
        Mutation(name: "UBL remove BT-24", cii: false) { replace($0, "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>", "") },
        Mutation(name: "UBL remove seller name", cii: false) { replace($0, "<cbc:RegistrationName>VENDEUR EXEMPLE SAS</cbc:RegistrationName>", "") },
        Mutation(name: "UBL remove buyer name", cii: false) { replace($0, "<cbc:RegistrationName>ACHETEUR EXEMPLE SARL</cbc:RegistrationName>", "") },
        Mutation(name: "UBL wrong BT-112", cii: false) { replace($0, ">1326.60</cbc:TaxInclusiveAmount>", ">1300.00</cbc:TaxInclusiveAmount>") },
        Mutation(name: "UBL wrong BT-109", cii: false) { replace($0, ">1120.00</cbc:TaxExclusiveAmount>", ">1100.00</cbc:TaxExclusiveAmount>") },
        Mutation(name: "UBL wrong line amount", cii: false) { replace($0, ">1000.00</cbc:LineExtensionAmount>", ">999.00</cbc:LineExtensionAmount>") },
        Mutation(name: "UBL VAT amount +1.00", cii: false) { replace($0, ">200.00</cbc:TaxAmount>", ">201.00</cbc:TaxAmount>") },
        Mutation(name: "UBL bad currency code EUX", cii: false) { replace($0, "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "<cbc:DocumentCurrencyCode>EUX</cbc:DocumentCurrencyCode>") },
        Mutation(name: "UBL bad type code 999", cii: false) { replace($0, "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", "<cbc:InvoiceTypeCode>999</cbc:InvoiceTypeCode>") },
        Mutation(name: "UBL type code 326 (not French)", cii: false) { replace($0, "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", "<cbc:InvoiceTypeCode>326</cbc:InvoiceTypeCode>") },
        Mutation(name: "UBL bad VAT category on line 2", cii: false) { replace($0, "<cbc:ID>S</cbc:ID>", "<cbc:ID>Q</cbc:ID>", nth: 4) },
        Mutation(name: "UBL VAT rate 19", cii: false) { replace($0, "<cbc:Percent>20.00</cbc:Percent>", "<cbc:Percent>19.00</cbc:Percent>") },
        Mutation(name: "UBL missing PMT note", cii: false) { removeEnclosing($0, marker: "#PMT#", open: "<cbc:Note>", close: "</cbc:Note>") },
        Mutation(name: "UBL duplicate PMD note", cii: false) { replace($0, "#AAB#", "#PMD#") },
        Mutation(name: "UBL BT-23 invalid", cii: false) { replace($0, "<cbc:ProfileID>S1</cbc:ProfileID>", "<cbc:ProfileID>S10</cbc:ProfileID>") },
        Mutation(name: "UBL number with a space", cii: false) { replace($0, "FA-2026-000124", "FA-2026 000124") },
        Mutation(name: "UBL issue date in 1999", cii: false) { replace($0, "<cbc:IssueDate>2026-09-15</cbc:IssueDate>", "<cbc:IssueDate>1999-09-15</cbc:IssueDate>") },
        Mutation(name: "UBL seller SIREN of 8 digits", cii: false) { replace($0, "<cbc:CompanyID schemeID=\"0002\">100000009</cbc:CompanyID>", "<cbc:CompanyID schemeID=\"0002\">10000000</cbc:CompanyID>") },
        Mutation(name: "UBL USD without BT-6", cii: false) {
            replace(replace($0, "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", "<cbc:DocumentCurrencyCode>USD</cbc:DocumentCurrencyCode>"), "currencyID=\"EUR\"", "currencyID=\"USD\"")
        },
        Mutation(name: "UBL credit note 381 without preceding invoice", cii: false) { s in
            var x = replace(s, "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2")
            x = replace(x, "<Invoice ", "<CreditNote ")
            x = replace(x, "</Invoice>", "</CreditNote>")
            x = replace(x, "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>")
            x = replace(x, "cac:InvoiceLine>", "cac:CreditNoteLine>")
            x = replace(x, "cbc:InvoicedQuantity", "cbc:CreditedQuantity")
            return replace(x, "  <cbc:DueDate>2026-10-15</cbc:DueDate>\n", "")
        },
        Mutation(name: "UBL corrective 384 without preceding invoice", cii: false) { replace($0, "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", "<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>") },
        Mutation(name: "UBL missing buyer endpoint", cii: false) { replace($0, "<cbc:EndpointID schemeID=\"0225\">200000008</cbc:EndpointID>", "") },
        Mutation(name: "UBL buyer endpoint scheme 0009", cii: false) { replace($0, "<cbc:EndpointID schemeID=\"0225\">200000008</cbc:EndpointID>", "<cbc:EndpointID schemeID=\"0009\">200000008</cbc:EndpointID>") },
        Mutation(name: "UBL due date before issue date", cii: false) { replace($0, "<cbc:DueDate>2026-10-15</cbc:DueDate>", "<cbc:DueDate>2026-09-01</cbc:DueDate>") },
        Mutation(name: "UBL BAR note B2X", cii: false) { replace($0, "#BAR#B2B", "#BAR#B2X") },
        Mutation(name: "UBL seller SIRET of another SIREN", cii: false) { replace($0, "<cbc:ID schemeID=\"0009\">10000000900017</cbc:ID>", "<cbc:ID schemeID=\"0009\">20000000800017</cbc:ID>", nth: 1) },
        Mutation(name: "UBL line amount with 3 decimals", cii: false) { replace($0, ">1000.00</cbc:LineExtensionAmount>", ">1000.000</cbc:LineExtensionAmount>") },
        Mutation(name: "UBL quantity with 5 decimals", cii: false) { replace($0, "unitCode=\"DAY\">2<", "unitCode=\"DAY\">2.00000<") },
        Mutation(name: "UBL prepaid amount without due update", cii: false) { insert($0, before: "<cbc:PayableAmount", "<cbc:PrepaidAmount currencyID=\"EUR\">100.00</cbc:PrepaidAmount>\n    ") },
        Mutation(name: "UBL no VAT breakdown", cii: false) { removeEnclosing($0, marker: ">206.60</cbc:TaxAmount>", open: "<cac:TaxTotal>", close: "</cac:TaxTotal>") },
        Mutation(name: "UBL exemption reason on S", cii: false) { replace($0, "<cbc:Percent>20.00</cbc:Percent>", "<cbc:Percent>20.00</cbc:Percent>\n        <cbc:TaxExemptionReason>Exoneration</cbc:TaxExemptionReason>", nth: 1) },
        Mutation(name: "UBL remove seller VAT id", cii: false) { removeEnclosing($0, marker: "FR88100000009", open: "<cac:PartyTaxScheme>", close: "</cac:PartyTaxScheme>") },
        Mutation(name: "UBL line 2 exempt without reason", cii: false) {
            var s = replace($0, "<cbc:ID>S</cbc:ID>\n        <cbc:Percent>5.50</cbc:Percent>", "<cbc:ID>E</cbc:ID>\n        <cbc:Percent>0.00</cbc:Percent>")
            s = replace(s, "<cbc:ID>S</cbc:ID>\n          <cbc:Percent>5.50</cbc:Percent>", "<cbc:ID>E</cbc:ID>\n          <cbc:Percent>0.00</cbc:Percent>")
            s = replace(s, ">6.60</cbc:TaxAmount>", ">0.00</cbc:TaxAmount>")
            s = replace(s, ">206.60</cbc:TaxAmount>", ">200.00</cbc:TaxAmount>")
            return replace(s, "1326.60", "1320.00")
        },
    ]

    @Test("mutations: same accept/reject as the oracle, our ids ⊆ oracle ids, one id in common on rejection")
    func mutationsAgree() throws {
        let cii = String(decoding: try Corpus.data(Corpus.frCII), as: UTF8.self)
        let ubl = String(decoding: try Corpus.data(Corpus.frUBL), as: UTF8.self)
        let all = Self.ciiMutations + Self.ublMutations
        #expect(all.count >= 30)
        try withTemporaryDirectory { dir in
            var files: [(Mutation, String)] = []
            for (i, m) in all.enumerated() {
                let source = m.cii ? cii : ubl
                let mutated = m.apply(source)
                #expect(mutated != source, "mutation '\(m.name)' changed nothing: its anchor text is no longer in the sample")
                let path = dir.appendingPathComponent(String(format: "M%02d.xml", i + 1)).path
                try Data(mutated.utf8).write(to: URL(fileURLWithPath: path))
                files.append((m, path))
            }
            let oracle = try InvoiceOracle.run(files.map(\.1))
            let implemented = InvoiceChecker.implementedRuleIDs
            var rows: [InvoiceOracle.Row] = []
            for (m, path) in files {
                let v = try #require(oracle[path])
                rows.append(InvoiceOracle.compare(name: m.name, oracle: v, ours: InvoiceOracle.ours(path), implemented: implemented))
            }
            InvoiceOracle.printTable("mutations", rows)
            for r in rows {
                #expect(r.oracle.rejects, "\(r.name): the oracle accepts this mutation; it tests nothing")
                #expect(r.verdictAgrees, "\(r.name): oracle \(InvoiceOracle.verdictText(r.oracle)) \(r.oracle.fatalIDs.sorted()), ours \(r.ours.ids.sorted())")
                #expect(r.extra.isEmpty, "\(r.name): we report \(r.extra.sorted()) which the oracle does not (oracle: \(r.oracle.fatalIDs.sorted()))")
                if r.oracle.rejects, !r.oracle.fatalIDs.isEmpty {
                    #expect(!r.ours.officialIDs.intersection(r.oracle.fatalIDs).isEmpty, "\(r.name): no rule id in common (oracle \(r.oracle.fatalIDs.sorted()), ours \(r.ours.ids.sorted()))")
                }
            }
        }
    }
}
