import CLibXML2

/// Facts gathered by one generic scan of the whole tree, for the official rules whose context
/// is "anywhere in the document" (`//ram:GlobalID[...]`, `//udt:DateTimeString[@format='102']`,
/// every amount's `@currencyID`...). Each hit keeps its value and the XPath of its element, so
/// a rule can say where. Lives only during one check (not part of the public model).
struct ExtractionFacts {
    struct Hit {
        var value: String
        /// The element (borrowed from the document being checked).
        var node: xmlNodePtr
        /// Its XPath, computed on demand (only failures need it).
        var path: String { XNode(node: node).xpath }
    }

    /// CII `udt:DateTimeString[@format='102']` (CII-DT-097).
    var dateTimeStrings102: [Hit] = []
    /// CII `ram:*Amount` (not `TaxTotalAmount`) carrying `@currencyID` (CII-DT-031).
    var amountsWithCurrency: [Hit] = []
    /// UBL amounts checked for two decimals (UBL-DT-01): every `*Amount` except `*PriceAmount` and
    /// those inside `cac:Price/cac:AllowanceCharge`.
    var ublAmounts: [Hit] = []
    /// `@currencyID` values in the BR-CL-03 context (CII `TaxTotalAmount`, UBL amounts).
    var currencyIDs: [Hit] = []
    /// VAT category codes: CII `CategoryTradeTax/CategoryCode` (BR-CL-17) and
    /// `ApplicableTradeTax/CategoryCode` (BR-CL-18); UBL `TaxCategory/ID` and
    /// `ClassifiedTaxCategory/ID`.
    var categoryCodesCL17: [Hit] = []
    var categoryCodesCL18: [Hit] = []
    /// Country codes (BR-CL-14): CII `ram:CountryID`, UBL `cac:Country/cbc:IdentificationCode`.
    var countryCodes: [Hit] = []
    /// Legal ids with scheme 0002 anywhere (BR-FR-32-LEGALID).
    var legalIDs0002: [Hit] = []
    /// CII `GlobalID` / UBL `PartyIdentification/ID` with scheme 0002 or 0231 (BR-FR-32-GLOBALID / -ID).
    var globalIDs0002: [Hit] = []
    /// VAT identifiers (BR-CO-09): CII `SpecifiedTaxRegistration/ID[@schemeID='VA']`,
    /// UBL `PartyTaxScheme[TaxScheme/ID='VAT']/CompanyID` (value may be empty).
    var vatIdentifiers: [Hit] = []
    /// CII: any `ram:TaxPointDate` / `ram:DueDateTypeCode` (BR-CO-03).
    var taxPointDateCount = 0
    var dueDateTypeCodeCount = 0
    /// CII `ram:DueDateTypeCode` values (BR-CL-06).
    var dueDateTypeCodes: [Hit] = []
    /// Payment means codes (BR-CL-16).
    var paymentMeansCodes: [Hit] = []
    /// Type codes (BR-CL-01): CII `rsm:ExchangedDocument/ram:TypeCode`, UBL
    /// `cbc:InvoiceTypeCode` / `cbc:CreditNoteTypeCode` anywhere (with which one it is).
    var typeCodes: [(hit: Hit, creditNote: Bool)] = []
    /// Invoice and tax currency codes (BR-CL-04, BR-CL-05).
    var invoiceCurrencyCodes: [Hit] = []
    var taxCurrencyCodes: [Hit] = []
    /// Whether any `VA` tax registration exists on the seller / its tax representative / buyer,
    /// anywhere (CII rules BR-AE/IC/G write `//ram:SellerTradeParty/...`).
    var anySellerVA = false
    var anySellerVAorFC = false
    var anyTaxRepVA = false
    var anyBuyerVA = false
    var anyBuyerLegalID = false
    /// CII: whether `rsm:ExchangedDocument` / `rsm:ExchangedDocumentContext` exist (rule contexts).
    var hasExchangedDocument = false
    var hasDocumentContext = false
    /// CII counts for CII-SR-009/010/014: guideline parameters and their IDs, document type codes.
    var guidelineParameterCount = 0
    var guidelineIDCount = 0
    var documentTypeCodeCount = 0
    /// CII: per line, whether `SpecifiedLineTradeAgreement` exists (CII-SR-439).
    var lineHasAgreement: [Bool] = []
    /// UBL: each `cac:TaxTotal` under the root, with its first `cbc:TaxAmount` (nil when absent).
    var ublTaxTotals: [Hit?] = []
    /// Identifier scheme attributes checked against ISO 6523 ICD, with the rule whose context
    /// they are in (BR-CL-10 party, BR-CL-11 legal, BR-CL-21 item, BR-CL-26 deliver-to).
    var schemeIDs: [(rule: String, hit: Hit)] = []
    /// Quantity unit codes (BR-CL-23).
    var unitCodes: [Hit] = []
    /// UBL: `cac:PartyTaxScheme` elements lacking `cac:TaxScheme/cbc:ID` or `cbc:CompanyID` (UBL-SR-53).
    var ublIncompleteTaxSchemes: [Hit] = []
}

extension XNode {
    /// XPath of this element with the usual prefixes and positional predicates where a sibling of
    /// the same name exists (`/rsm:CrossIndustryInvoice/.../ram:IncludedSupplyChainTradeLineItem[2]`).
    var xpath: String {
        var parts: [String] = []
        var cur: xmlNodePtr? = node
        while let n = cur, n.pointee.type == XML_ELEMENT_NODE {
            let e = XNode(node: n)
            var step = e.prefixedName
            // position among same-named element siblings
            var index = 1
            var total = 1
            var p = n.pointee.prev
            while let s = p {
                if s.pointee.type == XML_ELEMENT_NODE, sameName(s, n) { index += 1; total += 1 }
                p = s.pointee.prev
            }
            var q = n.pointee.next
            while let s = q {
                if s.pointee.type == XML_ELEMENT_NODE, sameName(s, n) { total += 1 }
                q = s.pointee.next
            }
            if total > 1 { step += "[\(index)]" }
            parts.append(step)
            cur = n.pointee.parent
        }
        return "/" + parts.reversed().joined(separator: "/")
    }

    /// `prefix:local` with the conventional prefix for the element's namespace.
    var prefixedName: String {
        let local = localName
        guard let ns = node.pointee.ns, let href = ns.pointee.href else { return local }
        if XNode.equal(href, NS.ram) { return "ram:" + local }
        if XNode.equal(href, NS.rsm) { return "rsm:" + local }
        if XNode.equal(href, NS.udt) { return "udt:" + local }
        if XNode.equal(href, NS.qdt) { return "qdt:" + local }
        if XNode.equal(href, NS.cbc) { return "cbc:" + local }
        if XNode.equal(href, NS.cac) { return "cac:" + local }
        if XNode.equal(href, "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2") { return "ubl:" + local }
        if XNode.equal(href, "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2") { return "cn:" + local }
        return local
    }

    private func sameName(_ a: xmlNodePtr, _ b: xmlNodePtr) -> Bool {
        guard let an = a.pointee.name, let bn = b.pointee.name else { return false }
        var i = 0
        while an[i] == bn[i] {
            if an[i] == 0 { return a.pointee.ns?.pointee.href == b.pointee.ns?.pointee.href || true }
            i += 1
        }
        return false
    }

    /// The parent element, if any.
    var parent: XNode? {
        guard let p = node.pointee.parent, p.pointee.type == XML_ELEMENT_NODE else { return nil }
        return XNode(node: p)
    }
}
