import Foundation

/// Builds an `InvoiceModel` from a UBL 2.1 Invoice or CreditNote tree in one walk.
enum UBLModelExtractor {
    typealias M = InvoiceModel

    static func extract(_ root: XNode, syntax: InvoiceSyntax) -> M {
        var m = M(syntax: syntax)
        var taxTotalIndex = 0
        root.forEachChild { c in
            if c.named("CustomizationID") { if m.specificationID == nil { m.specificationID = c.text } }
            else if c.named("ProfileID") { if m.businessProcess == nil { m.businessProcess = c.text } }
            else if c.named("ID") { if m.number == nil { m.number = c.text } }
            else if c.named("IssueDate") { if m.issueDate == nil { m.issueDate = M.DateValue(raw: c.text) } }
            else if c.named("DueDate") { m.dueDates.append(M.DateValue(raw: c.text)) }
            else if c.named("InvoiceTypeCode") || c.named("CreditNoteTypeCode") { if m.typeCode == nil { m.typeCode = c.text } }
            else if c.named("Note") { m.notes.append(note(c.text)) }
            else if c.named("TaxPointDate") { if m.taxPointDate == nil { m.taxPointDate = M.DateValue(raw: c.text) } }
            else if c.named("DocumentCurrencyCode") { if m.currency == nil { m.currency = c.text } }
            else if c.named("TaxCurrencyCode") { if m.taxCurrency == nil { m.taxCurrency = c.text } }
            else if c.named("BuyerReference") { if m.buyerReference == nil { m.buyerReference = c.text } }
            else if c.named("InvoicePeriod") {
                if m.invoicePeriod == nil {
                    let p = period(c)
                    m.invoicePeriod = p
                    m.taxPointDateCode = p.descriptionCode
                }
            } else if c.named("OrderReference") { if m.orderReference == nil { m.orderReference = c.child("ID")?.text } }
            else if c.named("BillingReference") {
                m.billingReferenceCount += 1
                m.precedingInvoices.append(billingReference(c))
            } else if c.named("ContractDocumentReference") { if m.contractReference == nil { m.contractReference = c.child("ID")?.text } }
            else if c.named("ProjectReference") { if m.projectReference == nil { m.projectReference = c.child("ID")?.text } }
            else if c.named("AdditionalDocumentReference") { m.additionalDocuments.append(documentReference(c)) }
            else if c.named("AccountingSupplierParty") {
                if m.seller == nil {
                    // An empty supplier still is a supplier for the rules whose context it is (BR-CO-26).
                    if let p = c.child("Party") { let tp = topParty(p, .seller, &m); m.seller = tp } else { m.seller = M.Party(role: .seller) }
                }
            } else if c.named("AccountingCustomerParty") {
                if m.buyer == nil, let p = c.child("Party") { let tp = topParty(p, .buyer, &m); m.buyer = tp }
            } else if c.named("PayeeParty") { if m.payee == nil { let tp = topParty(c, .payee, &m); m.payee = tp } }
            else if c.named("TaxRepresentativeParty") { if m.taxRepresentative == nil { let tp = topParty(c, .taxRepresentative, &m); m.taxRepresentative = tp } }
            else if c.named("Delivery") { if m.delivery == nil { delivery(c, &m) } }
            else if c.named("PaymentMeans") { let pm = paymentMeans(c, &m); m.paymentMeans.append(pm) }
            else if c.named("PaymentTerms") { if m.paymentTerms == nil { m.paymentTerms = c.child("Note")?.text } }
            else if c.named("AllowanceCharge") { m.allowancesCharges.append(allowanceCharge(c)) }
            else if c.named("TaxTotal") {
                var totals = m.totals ?? M.Totals()
                c.forEachChild { x in
                    if x.named("TaxAmount") { totals.taxTotals.append(number(x)) }
                    else if x.named("TaxSubtotal") {
                        var b = M.VATBreakdown(tax: M.TaxCategory())
                        b.taxTotalIndex = taxTotalIndex
                        b.hasCategoryElement = false
                        x.forEachChild { y in
                            if y.named("TaxableAmount") { if b.taxableAmount == nil { b.taxableAmount = number(y) } }
                            else if y.named("TaxAmount") { if b.taxAmount == nil { b.taxAmount = number(y) } }
                            else if y.named("TaxCategory") { if !b.hasCategoryElement { b.hasCategoryElement = true; b.tax = taxCategory(y) } }
                        }
                        m.vatBreakdown.append(b)
                    }
                }
                m.totals = totals
                taxTotalIndex += 1
            } else if c.named("LegalMonetaryTotal") {
                var t = m.totals ?? M.Totals()
                c.forEachChild { x in
                    if x.named("LineExtensionAmount") { if t.lineTotal == nil { t.lineTotal = number(x) } }
                    else if x.named("TaxExclusiveAmount") { if t.taxBasisTotal == nil { t.taxBasisTotal = number(x) } }
                    else if x.named("TaxInclusiveAmount") { if t.grandTotal == nil { t.grandTotal = number(x) } }
                    else if x.named("AllowanceTotalAmount") { if t.allowanceTotal == nil { t.allowanceTotal = number(x) } }
                    else if x.named("ChargeTotalAmount") { if t.chargeTotal == nil { t.chargeTotal = number(x) } }
                    else if x.named("PrepaidAmount") { if t.prepaidAmount == nil { t.prepaidAmount = number(x) } }
                    else if x.named("PayableRoundingAmount") { if t.roundingAmount == nil { t.roundingAmount = number(x) } }
                    else if x.named("PayableAmount") { if t.duePayable == nil { t.duePayable = number(x) } }
                }
                t.hasSummation = true
                m.totals = t
            } else if c.named("InvoiceLine") || c.named("CreditNoteLine") {
                m.lines.append(line(c))
            }
        }
        m.profile = FacturXProfile.from(guideline: m.specificationID)
        return m
    }

    /// `#CODE#text` → subject CODE and text (French UBL convention); anything else is plain text.
    static func note(_ raw: String) -> M.Note {
        let t = raw.utf8
        if t.first == UInt8(ascii: "#") {
            let rest = t.dropFirst()
            if let end = rest.firstIndex(of: UInt8(ascii: "#")) {
                let code = String(decoding: rest[rest.startIndex..<end], as: UTF8.self)
                let text = String(decoding: rest[rest.index(after: end)...], as: UTF8.self)
                if !code.isEmpty, code.count <= 10, !code.utf8.contains(0x20) {
                    return M.Note(subjectCode: code, content: text, raw: raw)
                }
            }
        }
        return M.Note(subjectCode: nil, content: raw, raw: raw)
    }

    static func period(_ c: XNode) -> M.Period {
        var p = M.Period()
        p.hasChildren = c.hasElementChildren
        c.forEachChild { x in
            if x.named("StartDate") { if p.start == nil { p.start = M.DateValue(raw: x.text) } }
            else if x.named("EndDate") { if p.end == nil { p.end = M.DateValue(raw: x.text) } }
            else if x.named("DescriptionCode") { if p.descriptionCode == nil { p.descriptionCode = x.text } }
        }
        return p
    }

    static func billingReference(_ c: XNode) -> M.DocumentReference {
        var r = M.DocumentReference()
        guard let d = c.child("InvoiceDocumentReference") else {
            r.hasInvoiceDocumentReference = false
            return r
        }
        d.forEachChild { x in
            if x.named("ID") { if r.id == nil { r.id = x.text } }
            else if x.named("IssueDate") { if r.issueDate == nil { r.issueDate = M.DateValue(raw: x.text) } }
            else if x.named("DocumentTypeCode") { if r.typeCode == nil { r.typeCode = x.text } }
            else if x.named("DocumentStatusCode") { if r.statusCode == nil { r.statusCode = x.text } }
        }
        return r
    }

    static func documentReference(_ c: XNode) -> M.AdditionalDocument {
        var d = M.AdditionalDocument()
        c.forEachChild { x in
            if x.named("ID") { if d.id == nil { d.id = x.text; d.idScheme = x.attribute("schemeID") } }
            else if x.named("DocumentTypeCode") { if d.typeCode == nil { d.typeCode = x.text } }
            else if x.named("DocumentDescription") { if d.description == nil { d.description = x.text } }
            else if x.named("Attachment") {
                if let o = x.child("EmbeddedDocumentBinaryObject") { d.mimeCode = o.attribute("mimeCode"); d.filename = o.attribute("filename") }
            }
        }
        return d
    }

    static func delivery(_ c: XNode, _ m: inout M) {
        var d = M.Delivery()
        var shipTo = M.Party(role: .shipTo)
        c.forEachChild { x in
            if x.named("ActualDeliveryDate") { if d.actualDate == nil { d.actualDate = M.DateValue(raw: x.text) } }
            else if x.named("DeliveryLocation") {
                guard !d.hasLocation else { return }  // each location is its own rule context; keep the first
                d.hasLocation = true
                x.forEachChild { y in
                    if y.named("ID") {
                        d.locationIDs.append(M.PartyIdentifier(value: y.text, scheme: y.attribute("schemeID"), hasSchemeAttribute: y.hasAttribute("schemeID"), isGlobal: true))
                    } else if y.named("Address") { if d.address == nil { d.address = address(y) } }
                }
            } else if x.named("DeliveryParty") {
                x.forEachChild { y in
                    if y.named("PartyName") { if d.partyName == nil { d.partyName = y.child("Name")?.text } }
                    else if y.named("PartyLegalEntity") {
                        y.forEachChild { z in
                            if z.named("CompanyID") { d.legalIDs.append(M.Identifier(value: z.text, scheme: z.attribute("schemeID"))) }
                        }
                    }
                }
            }
        }
        shipTo.name = d.partyName
        shipTo.identifiers = d.locationIDs
        shipTo.legalIDs = d.legalIDs
        shipTo.address = d.address
        m.delivery = d
        m.otherParties.append(shipTo)
    }

    static func paymentMeans(_ c: XNode, _ m: inout M) -> M.PaymentMeans {
        var p = M.PaymentMeans()
        c.forEachChild { x in
            if x.named("PaymentMeansCode") { if p.code == nil { p.code = x.text; p.information = x.attribute("name") } }
            else if x.named("PaymentDueDate") { if p.dueDate == nil { p.dueDate = M.DateValue(raw: x.text) } }
            else if x.named("CardAccount") { p.cardNumber = x.child("PrimaryAccountNumberID")?.text }
            else if x.named("PayeeFinancialAccount") {
                p.hasAccountElement = true
                if let id = x.child("ID") { p.accounts.append(id.text) }
            } else if x.named("PaymentMandate") {
                x.forEachChild { y in
                    if y.named("ID") { p.mandateReference = y.text }
                    else if y.named("PayerParty") { let payer = topParty(y, .payer, &m); m.otherParties.append(payer) }
                }
            }
        }
        return p
    }

    static func allowanceCharge(_ c: XNode) -> M.AllowanceCharge {
        var a = M.AllowanceCharge()
        c.forEachChild { x in
            if x.named("ChargeIndicator") { if a.indicator == nil { a.indicator = x.text } }
            else if x.named("Amount") { a.amountCount += 1; if a.amount == nil { a.amount = number(x) } }
            else if x.named("BaseAmount") { if a.baseAmount == nil { a.baseAmount = number(x) } }
            else if x.named("MultiplierFactorNumeric") { if a.percent == nil { a.percent = number(x) } }
            else if x.named("AllowanceChargeReason") { if a.reason == nil { a.reason = x.text } }
            else if x.named("AllowanceChargeReasonCode") { if a.reasonCode == nil { a.reasonCode = x.text } }
            else if x.named("TaxCategory") { if a.tax == nil { a.tax = taxCategory(x) } }
        }
        return a
    }

    static func taxCategory(_ c: XNode) -> M.TaxCategory {
        var t = M.TaxCategory()
        c.forEachChild { x in
            if x.named("ID") { if t.category == nil { t.category = x.text } }
            else if x.named("Percent") { if t.rate == nil { t.rate = number(x) } }
            else if x.named("TaxExemptionReason") { if t.exemptionReason == nil { t.exemptionReason = x.text } }
            else if x.named("TaxExemptionReasonCode") { if t.exemptionReasonCode == nil { t.exemptionReasonCode = x.text } }
            else if x.named("TaxScheme") { if t.scheme == nil { t.scheme = x.child("ID")?.text } }
        }
        return t
    }

    @inline(__always)
    static func number(_ x: XNode) -> M.Number {
        M.Number(raw: x.text, currencyID: x.attribute("currencyID") ?? x.attribute("unitCode"))
    }

    // MARK: parties

    /// Reads a party; its nested agent / service-provider parties are appended to `m.otherParties`.
    static func topParty(_ e: XNode, _ role: M.PartyRole, _ m: inout M) -> M.Party {
        var others: [M.Party] = []
        let p = party(e, role, into: &others)
        m.otherParties.append(contentsOf: others)
        return p
    }

    /// Reads a `cac:Party` (or a party-like element such as `cac:PayeeParty`); nested agent and
    /// service-provider parties go to `others`.
    static func party(_ e: XNode, _ role: M.PartyRole, into others: inout [M.Party]) -> M.Party {
        var p = M.Party(role: role)
        e.forEachChild { c in
            if c.named("EndpointID") {
                p.endpointCount += 1
                if p.endpoint == nil {
                    p.endpoint = M.Identifier(value: c.text, scheme: c.attribute("schemeID"))
                    p.endpointHasSchemeAttribute = c.hasAttribute("schemeID")
                }
            } else if c.named("PartyIdentification") {
                c.forEachChild { id in
                    guard id.named("ID") else { return }
                    p.identifiers.append(M.PartyIdentifier(value: id.text, scheme: id.attribute("schemeID"), hasSchemeAttribute: id.hasAttribute("schemeID"), isGlobal: true))
                }
            } else if c.named("PartyName") {
                if p.tradingName == nil { p.tradingName = c.child("Name")?.text }
            } else if c.named("PostalAddress") {
                if p.address == nil { p.address = address(c) }
            } else if c.named("PartyTaxScheme") {
                p.taxSchemeCount += 1
                let scheme = c.child("TaxScheme")?.child("ID")?.text
                if let id = c.child("CompanyID") { p.taxRegistrations.append(M.Identifier(value: id.text, scheme: scheme)) }
            } else if c.named("PartyLegalEntity") {
                p.hasLegalEntity = true
                c.forEachChild { x in
                    if x.named("RegistrationName") { if p.name == nil { p.name = x.text } }
                    else if x.named("CompanyID") { p.legalIDs.append(M.Identifier(value: x.text, scheme: x.attribute("schemeID"))) }
                }
            } else if c.named("Contact") {
                if p.contact == nil { p.contact = (c.child("Name") ?? c.child("ElectronicMail"))?.text }
            } else if c.named("AgentParty"), role == .seller || role == .buyer {
                var nested: [M.Party] = []
                let agent = party(c, role == .seller ? .salesAgent : .buyerAgent, into: &nested)
                others.append(agent)
            } else if c.named("ServiceProviderParty"), role == .seller || role == .buyer {
                if let sp = c.child("Party") {
                    var nested: [M.Party] = []
                    let provider = party(sp, role == .seller ? .invoicer : .invoicee, into: &nested)
                    others.append(provider)
                }
            }
        }
        return p
    }

    static func address(_ c: XNode) -> M.Address {
        var a = M.Address()
        c.forEachChild { x in
            if x.named("StreetName") || x.named("AdditionalStreetName") { a.lines.append(x.text) }
            else if x.named("AddressLine") { if let l = x.child("Line") { a.lines.append(l.text) } }
            else if x.named("CityName") { a.city = x.text }
            else if x.named("PostalZone") { a.postcode = x.text }
            else if x.named("CountrySubentity") { a.subdivision = x.text }
            else if x.named("Country") { if a.country == nil { a.country = x.child("IdentificationCode")?.text } }
        }
        return a
    }

    // MARK: lines

    static func line(_ e: XNode) -> M.Line {
        var l = M.Line()
        e.forEachChild { c in
            if c.named("ID") { if l.id == nil { l.id = c.text } }
            else if c.named("Note") { if l.note == nil { l.note = c.text } }
            else if c.named("InvoicedQuantity") || c.named("CreditedQuantity") {
                if !l.hasQuantity {
                    l.hasQuantity = true
                    l.quantity = M.Number(raw: c.text, currencyID: c.attribute("unitCode"))
                    l.unitCode = c.attribute("unitCode")
                    l.hasUnitCode = c.hasAttribute("unitCode")
                }
            } else if c.named("LineExtensionAmount") { if l.netAmount == nil { l.netAmount = number(c) } }
            else if c.named("InvoicePeriod") { if l.period == nil { l.period = period(c) } }
            else if c.named("DocumentReference") {
                var d = M.AdditionalDocument()
                if let id = c.child("ID") { d.id = id.text; d.idScheme = id.attribute("schemeID") }
                d.typeCode = c.child("DocumentTypeCode")?.text
                l.objectReferences.append(d)
            } else if c.named("BillingReference") { l.precedingInvoices.append(billingReference(c)) }
            else if c.named("Delivery") {
                c.forEachChild { x in
                    if x.named("ActualDeliveryDate") { l.deliveryDate = M.DateValue(raw: x.text) }
                    else if x.named("DeliveryLocation") {
                        var p = M.Party(role: .shipTo)
                        x.forEachChild { y in
                            if y.named("ID") {
                                p.identifiers.append(M.PartyIdentifier(value: y.text, scheme: y.attribute("schemeID"), hasSchemeAttribute: y.hasAttribute("schemeID"), isGlobal: true))
                            } else if y.named("Address") {
                                if p.address == nil { p.address = address(y) }
                            }
                        }
                        l.shipTo = p
                    }
                }
            } else if c.named("AllowanceCharge") { l.allowancesCharges.append(allowanceCharge(c)) }
            else if c.named("Item") {
                c.forEachChild { x in
                    if x.named("Name") { if l.itemName == nil { l.itemName = x.text } }
                    else if x.named("Description") { if l.itemDescription == nil { l.itemDescription = x.text } }
                    else if x.named("SellersItemIdentification") { l.sellerItemID = x.child("ID")?.text }
                    else if x.named("BuyersItemIdentification") { l.buyerItemID = x.child("ID")?.text }
                    else if x.named("StandardItemIdentification") {
                        if l.standardItemID == nil, let id = x.child("ID") {
                            l.standardItemID = M.Identifier(value: id.text, scheme: id.attribute("schemeID"))
                            l.standardItemIDHasScheme = id.hasAttribute("schemeID")
                        }
                    } else if x.named("CommodityClassification") {
                        if let code = x.child("ItemClassificationCode") {
                            l.classifications.append(M.Identifier(value: code.text, scheme: code.attribute("listID")))
                            if !code.hasAttribute("listID") { l.classificationsHaveListID = false }
                        }
                    } else if x.named("ClassifiedTaxCategory") {
                        l.taxes.append(taxCategory(x))
                    } else if x.named("AdditionalItemProperty") {
                        let n = x.child("Name")?.text
                        let v = x.child("Value")?.text
                        if let n, let v { l.attributes.append(M.Identifier(value: v, scheme: n)) } else { l.incompleteAttributes += 1 }
                    }
                }
            } else if c.named("Price") {
                c.forEachChild { x in
                    if x.named("PriceAmount") { l.netPriceCount += 1; if l.netPrice == nil { l.netPrice = number(x) } }
                    else if x.named("BaseQuantity") { if l.priceBaseQuantity == nil { l.priceBaseQuantity = number(x) } }
                    else if x.named("AllowanceCharge") {
                        if let b = x.child("BaseAmount"), l.grossPrice == nil { l.grossPrice = number(b) }
                        if let a = x.child("Amount"), l.priceDiscount == nil { l.priceDiscount = number(a) }
                    }
                }
            }
        }
        return l
    }
}
