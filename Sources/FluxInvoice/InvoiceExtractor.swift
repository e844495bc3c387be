import FluxCore
import Foundation

/// Extracts the key business terms with the EN 16931 syntax bindings (EINVOICING.md §5) and
/// runs the minimal checks an intake needs: the mandatory terms that identify and route an
/// invoice. The full rule set plugs in behind `InvoiceChecker`.
public enum InvoiceExtractor {
    static let ublNS: [String: String] = [
        "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
        "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    ]
    static let ciiNS: [String: String] = [
        "rsm": InvoiceSyntax.ciiNS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
        "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    ]

    /// Facts of a parsed document of a known invoice syntax.
    public static func extract(_ doc: XMLDoc, syntax: InvoiceSyntax) -> InvoiceFacts {
        switch syntax {
        case .ublInvoice, .ublCreditNote: return extractUBL(doc, syntax: syntax)
        case .cii: return extractCII(doc)
        case .cdar: return InvoiceFacts(syntax: .cdar)
        }
    }

    static func extractUBL(_ doc: XMLDoc, syntax: InvoiceSyntax) -> InvoiceFacts {
        var ns = ublNS
        let root = syntax == .ublInvoice ? "ubl:Invoice" : "ubl:CreditNote"
        ns["ubl"] = syntax == .ublInvoice ? InvoiceSyntax.ublInvoiceNS : InvoiceSyntax.ublCreditNoteNS
        let x = doc.xpath(ns)
        var f = InvoiceFacts(syntax: syntax)
        f.number = x.string("/\(root)/cbc:ID")
        f.issueDate = x.string("/\(root)/cbc:IssueDate").map(normaliseDate)
        f.typeCode = x.string(syntax == .ublInvoice ? "/\(root)/cbc:InvoiceTypeCode" : "/\(root)/cbc:CreditNoteTypeCode")
        f.currency = x.string("/\(root)/cbc:DocumentCurrencyCode")
        f.specification = x.string("/\(root)/cbc:CustomizationID")
        for (side, path) in [("seller", "cac:AccountingSupplierParty"), ("buyer", "cac:AccountingCustomerParty")] {
            let p = "/\(root)/\(path)/cac:Party"
            let name = x.string("\(p)/cac:PartyLegalEntity/cbc:RegistrationName") ?? x.string("\(p)/cac:PartyName/cbc:Name")
            let siren = x.string("\(p)/cac:PartyLegalEntity/cbc:CompanyID[@schemeID='0002']")
            let legal = x.string("\(p)/cac:PartyLegalEntity/cbc:CompanyID")
            let vat = x.string("\(p)/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID")
            let id = x.string("\(p)/cac:PartyIdentification/cbc:ID")
            let idScheme = x.string("\(p)/cac:PartyIdentification/cbc:ID/@schemeID")
            let key = partyKey(siren: siren ?? legal.flatMap(sirenLike), vat: vat, id: id, idScheme: idScheme)
            if side == "seller" { f.sellerName = name; f.seller = key; f.sellerSIREN = siren ?? legal.flatMap(sirenLike) } else { f.buyerName = name; f.buyer = key; f.buyerSIREN = siren ?? legal.flatMap(sirenLike) }
        }
        f.totalWithoutVAT = x.string("/\(root)/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")
        f.totalWithVAT = x.string("/\(root)/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")
        if let cur = f.currency, isCurrencyCode(cur) {
            f.totalVAT = x.string("/\(root)/cac:TaxTotal/cbc:TaxAmount[@currencyID='\(cur)']")
        }
        f.totalVAT = f.totalVAT ?? x.string("/\(root)/cac:TaxTotal/cbc:TaxAmount")
        return f
    }

    static func extractCII(_ doc: XMLDoc) -> InvoiceFacts {
        let x = doc.xpath(ciiNS)
        let r = "/rsm:CrossIndustryInvoice"
        let h = "\(r)/rsm:SupplyChainTradeTransaction"
        let s = "\(h)/ram:ApplicableHeaderTradeSettlement"
        var f = InvoiceFacts(syntax: .cii)
        f.number = x.string("\(r)/rsm:ExchangedDocument/ram:ID")
        f.issueDate = x.string("\(r)/rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString").map(normaliseDate)
        f.typeCode = x.string("\(r)/rsm:ExchangedDocument/ram:TypeCode")
        f.currency = x.string("\(s)/ram:InvoiceCurrencyCode")
        f.specification = x.string("\(r)/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID")
        for (side, party) in [("seller", "ram:SellerTradeParty"), ("buyer", "ram:BuyerTradeParty")] {
            let p = "\(h)/ram:ApplicableHeaderTradeAgreement/\(party)"
            let name = x.string("\(p)/ram:Name")
            let siren = x.string("\(p)/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']")
            let legal = x.string("\(p)/ram:SpecifiedLegalOrganization/ram:ID")
            let vat = x.string("\(p)/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")
            let globalID = x.string("\(p)/ram:GlobalID")
            let globalScheme = x.string("\(p)/ram:GlobalID/@schemeID")
            let id = x.string("\(p)/ram:ID") ?? globalID
            let key = partyKey(siren: siren ?? legal.flatMap(sirenLike), vat: vat, id: id, idScheme: x.string("\(p)/ram:ID") == nil ? globalScheme : nil)
            if side == "seller" { f.sellerName = name; f.seller = key; f.sellerSIREN = siren ?? legal.flatMap(sirenLike) } else { f.buyerName = name; f.buyer = key; f.buyerSIREN = siren ?? legal.flatMap(sirenLike) }
        }
        let m = "\(s)/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
        f.totalWithoutVAT = x.string("\(m)/ram:TaxBasisTotalAmount")
        f.totalWithVAT = x.string("\(m)/ram:GrandTotalAmount")
        if let cur = f.currency, isCurrencyCode(cur) {
            f.totalVAT = x.string("\(m)/ram:TaxTotalAmount[@currencyID='\(cur)']")
        }
        f.totalVAT = f.totalVAT ?? x.string("\(m)/ram:TaxTotalAmount")
        return f
    }

    static func partyKey(siren: String?, vat: String?, id: String?, idScheme: String?) -> PartyKey? {
        if let siren { return PartyKey(scheme: "0002", value: siren) }
        if let vat { return PartyKey(scheme: "VAT", value: vat) }
        if let id { return PartyKey(scheme: idScheme.map { "ID-\($0)" } ?? "ID", value: id) }
        return nil
    }

    /// A legal registration id without scheme that looks like a SIREN (9 digits) is one.
    static func sirenLike(_ s: String) -> String? {
        s.count == 9 && s.allSatisfy(\.isASCIIDigit) ? s : nil
    }

    static func isCurrencyCode(_ s: String) -> Bool {
        s.count == 3 && s.allSatisfy { ("A"..."Z").contains($0) }
    }

    /// CII writes 20260915, UBL 2026-09-15: both become 2026-09-15; anything else is kept.
    static func normaliseDate(_ s: String) -> String {
        if s.count == 8, s.allSatisfy(\.isASCIIDigit) {
            let a = Array(s)
            return "\(String(a[0..<4]))-\(String(a[4..<6]))-\(String(a[6..<8]))"
        }
        return s
    }
}
