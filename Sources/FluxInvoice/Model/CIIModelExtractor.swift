import Foundation

/// Builds an `InvoiceModel` from a CII (D16B/D22B) tree in one walk: each element is visited
/// at most once and dispatched on its local name (namespaces are checked on the containers).
enum CIIModelExtractor {
    typealias M = InvoiceModel

    static func extract(_ root: XNode) -> M {
        var m = M(syntax: .cii)
        root.forEachChild { e in
            if e.named("ExchangedDocumentContext") {
                e.forEachChild { p in
                    if p.named("BusinessProcessSpecifiedDocumentContextParameter"), m.businessProcess == nil {
                        m.businessProcess = p.child("ID")?.text
                    } else if p.named("GuidelineSpecifiedDocumentContextParameter"), m.specificationID == nil {
                        m.specificationID = p.child("ID")?.text
                    }
                }
            } else if e.named("ExchangedDocument") {
                document(e, &m)
            } else if e.named("SupplyChainTradeTransaction") {
                transaction(e, &m)
            }
        }
        m.profile = FacturXProfile.from(guideline: m.specificationID)
        return m
    }

    // MARK: document

    static func document(_ e: XNode, _ m: inout M) {
        e.forEachChild { c in
            if c.named("ID") { if m.number == nil { m.number = c.text } }
            else if c.named("TypeCode") { if m.typeCode == nil { m.typeCode = c.text } }
            else if c.named("IssueDateTime") {
                if m.issueDate == nil, let d = c.child("DateTimeString") { m.issueDate = date(d) }
            } else if c.named("IncludedNote") {
                m.notes.append(M.Note(subjectCode: c.child("SubjectCode")?.text, content: c.child("Content")?.text ?? "", raw: nil))
            }
        }
    }

    static func date(_ d: XNode) -> M.DateValue {
        M.DateValue(raw: d.text, format: d.attribute("format"))
    }

    // MARK: transaction

    static func transaction(_ e: XNode, _ m: inout M) {
        e.forEachChild { c in
            if c.named("IncludedSupplyChainTradeLineItem") { m.lines.append(line(c)) }
            else if c.named("ApplicableHeaderTradeAgreement") { agreement(c, &m) }
            else if c.named("ApplicableHeaderTradeDelivery") { delivery(c, &m) }
            else if c.named("ApplicableHeaderTradeSettlement") { settlement(c, &m) }
        }
    }

    static func agreement(_ e: XNode, _ m: inout M) {
        e.forEachChild { c in
            if c.named("BuyerReference") { if m.buyerReference == nil { m.buyerReference = c.text } }
            else if c.named("SellerTradeParty") { if m.seller == nil { m.seller = party(c, .seller) } }
            else if c.named("BuyerTradeParty") { if m.buyer == nil { m.buyer = party(c, .buyer) } }
            else if c.named("SellerTaxRepresentativeTradeParty") { if m.taxRepresentative == nil { m.taxRepresentative = party(c, .taxRepresentative) } }
            else if c.named("SalesAgentTradeParty") { m.otherParties.append(party(c, .salesAgent)) }
            else if c.named("BuyerAgentTradeParty") { m.otherParties.append(party(c, .buyerAgent)) }
            else if c.named("BuyerOrderReferencedDocument") { if m.orderReference == nil { m.orderReference = c.child("IssuerAssignedID")?.text } }
            else if c.named("ContractReferencedDocument") { if m.contractReference == nil { m.contractReference = c.child("IssuerAssignedID")?.text } }
            else if c.named("SpecifiedProcuringProject") { if m.projectReference == nil { m.projectReference = c.child("ID")?.text } }
            else if c.named("AdditionalReferencedDocument") { m.additionalDocuments.append(additionalDocument(c)) }
        }
    }

    static func additionalDocument(_ c: XNode) -> M.AdditionalDocument {
        var d = M.AdditionalDocument()
        c.forEachChild { x in
            if x.named("IssuerAssignedID") { if d.id == nil { d.id = x.text } }
            else if x.named("TypeCode") { if d.typeCode == nil { d.typeCode = x.text } }
            else if x.named("Name") { if d.description == nil { d.description = x.text } }
            else if x.named("ReferenceTypeCode") { if d.referenceTypeCode == nil { d.referenceTypeCode = x.text } }
            else if x.named("AttachmentBinaryObject") { d.mimeCode = x.attribute("mimeCode"); d.filename = x.attribute("filename") }
        }
        return d
    }

    static func delivery(_ e: XNode, _ m: inout M) {
        var d = m.delivery ?? M.Delivery()
        e.forEachChild { c in
            if c.named("ShipToTradeParty") {
                let p = party(c, .shipTo)
                d.partyName = p.name
                d.locationIDs = p.identifiers
                d.address = p.address
                d.legalIDs = p.legalIDs
                d.hasLocation = true
                m.otherParties.append(p)
            } else if c.named("ActualDeliverySupplyChainEvent") {
                if d.actualDate == nil, let dt = c.child("OccurrenceDateTime")?.child("DateTimeString") { d.actualDate = date(dt) }
            }
        }
        m.delivery = d
    }

    static func settlement(_ e: XNode, _ m: inout M) {
        var totals: M.Totals?
        e.forEachChild { c in
            if c.named("InvoiceCurrencyCode") { if m.currency == nil { m.currency = c.text } }
            else if c.named("TaxCurrencyCode") { if m.taxCurrency == nil { m.taxCurrency = c.text } }
            else if c.named("PayeeTradeParty") { if m.payee == nil { m.payee = party(c, .payee) } }
            else if c.named("InvoiceeTradeParty") { m.otherParties.append(party(c, .invoicee)) }
            else if c.named("InvoicerTradeParty") { m.otherParties.append(party(c, .invoicer)) }
            else if c.named("PayerTradeParty") { m.otherParties.append(party(c, .payer)) }
            else if c.named("SpecifiedTradeSettlementPaymentMeans") { m.paymentMeans.append(paymentMeans(c)) }
            else if c.named("ApplicableTradeTax") {
                var b = M.VATBreakdown(tax: M.TaxCategory())
                c.forEachChild { x in
                    if x.named("CalculatedAmount") { if b.taxAmount == nil { b.taxAmount = number(x) } }
                    else if x.named("BasisAmount") { if b.taxableAmount == nil { b.taxableAmount = number(x) } }
                    else if x.named("DueDateTypeCode") {
                        if b.dueDateTypeCode == nil { b.dueDateTypeCode = x.text }
                        if m.taxPointDateCode == nil { m.taxPointDateCode = x.text }
                    } else if x.named("TaxPointDate") {
                        if m.taxPointDate == nil, let d = x.child("DateString") { m.taxPointDate = M.DateValue(raw: d.text, format: d.attribute("format")) }
                    } else { taxField(x, &b.tax) }
                }
                m.vatBreakdown.append(b)
            } else if c.named("BillingSpecifiedPeriod") {
                if m.invoicePeriod == nil { m.invoicePeriod = period(c) }
            } else if c.named("SpecifiedTradeAllowanceCharge") {
                m.allowancesCharges.append(allowanceCharge(c))
            } else if c.named("SpecifiedTradePaymentTerms") {
                c.forEachChild { x in
                    if x.named("Description") { if m.paymentTerms == nil { m.paymentTerms = x.text } }
                    else if x.named("DueDateDateTime") { if let d = x.child("DateTimeString") { m.dueDates.append(date(d)) } }
                    else if x.named("DirectDebitMandateID") {
                        if !m.paymentMeans.isEmpty, m.paymentMeans[0].mandateReference == nil { m.paymentMeans[0].mandateReference = x.text }
                    }
                }
            } else if c.named("SpecifiedTradeSettlementHeaderMonetarySummation") {
                // A repeated summation (XSD-invalid) still adds its tax totals to BR-CO-15's count.
                if totals == nil { totals = summation(c) } else { totals?.taxTotals += summation(c).taxTotals }
            } else if c.named("InvoiceReferencedDocument") {
                m.precedingInvoices.append(invoiceReference(c))
            }
        }
        if let totals { m.totals = totals }
    }

    static func summation(_ c: XNode) -> M.Totals {
        var t = M.Totals()
        t.hasSummation = true
        c.forEachChild { x in
            if x.named("LineTotalAmount") { if t.lineTotal == nil { t.lineTotal = number(x) } }
            else if x.named("ChargeTotalAmount") { if t.chargeTotal == nil { t.chargeTotal = number(x) } }
            else if x.named("AllowanceTotalAmount") { if t.allowanceTotal == nil { t.allowanceTotal = number(x) } }
            else if x.named("TaxBasisTotalAmount") { if t.taxBasisTotal == nil { t.taxBasisTotal = number(x) } }
            else if x.named("TaxTotalAmount") { t.taxTotals.append(number(x)) }
            else if x.named("RoundingAmount") { if t.roundingAmount == nil { t.roundingAmount = number(x) } }
            else if x.named("GrandTotalAmount") { if t.grandTotal == nil { t.grandTotal = number(x) } }
            else if x.named("TotalPrepaidAmount") { if t.prepaidAmount == nil { t.prepaidAmount = number(x) } }
            else if x.named("DuePayableAmount") { if t.duePayable == nil { t.duePayable = number(x) } }
        }
        return t
    }

    static func invoiceReference(_ c: XNode) -> M.DocumentReference {
        var r = M.DocumentReference()
        c.forEachChild { x in
            if x.named("IssuerAssignedID") { if r.id == nil { r.id = x.text } }
            else if x.named("TypeCode") { if r.typeCode == nil { r.typeCode = x.text } }
            else if x.named("FormattedIssueDateTime") {
                if r.issueDate == nil, let d = x.child("DateTimeString") { r.issueDate = date(d) }
            }
        }
        return r
    }

    static func paymentMeans(_ c: XNode) -> M.PaymentMeans {
        var p = M.PaymentMeans()
        c.forEachChild { x in
            if x.named("TypeCode") { if p.code == nil { p.code = x.text } }
            else if x.named("Information") { if p.information == nil { p.information = x.text } }
            else if x.named("ApplicableTradeSettlementFinancialCard") { p.cardNumber = x.child("ID")?.text }
            else if x.named("PayeePartyCreditorFinancialAccount") {
                p.hasAccountElement = true
                x.forEachChild { a in
                    if a.named("IBANID") || a.named("ProprietaryID") { p.accounts.append(a.text) }
                }
            }
        }
        return p
    }

    static func period(_ c: XNode) -> M.Period {
        var p = M.Period()
        p.hasChildren = c.hasElementChildren
        c.forEachChild { x in
            if x.named("StartDateTime") { if p.start == nil { p.start = x.child("DateTimeString").map(date) ?? M.DateValue(raw: "") } }
            else if x.named("EndDateTime") { if p.end == nil { p.end = x.child("DateTimeString").map(date) ?? M.DateValue(raw: "") } }
        }
        return p
    }

    static func allowanceCharge(_ c: XNode) -> M.AllowanceCharge {
        var a = M.AllowanceCharge()
        c.forEachChild { x in
            if x.named("ChargeIndicator") { if a.indicator == nil { a.indicator = x.child("Indicator")?.text ?? "" } }
            else if x.named("ActualAmount") { a.amountCount += 1; if a.amount == nil { a.amount = number(x) } }
            else if x.named("BasisAmount") { if a.baseAmount == nil { a.baseAmount = number(x) } }
            else if x.named("CalculationPercent") { if a.percent == nil { a.percent = number(x) } }
            else if x.named("Reason") { if a.reason == nil { a.reason = x.text } }
            else if x.named("ReasonCode") { if a.reasonCode == nil { a.reasonCode = x.text } }
            else if x.named("CategoryTradeTax") {
                if a.tax == nil {
                    var t = M.TaxCategory()
                    x.forEachChild { taxField($0, &t) }
                    a.tax = t
                }
            }
        }
        return a
    }

    /// Reads one child of an `ApplicableTradeTax` / `CategoryTradeTax` into `t`.
    static func taxField(_ x: XNode, _ t: inout M.TaxCategory) {
        if x.named("TypeCode") { if t.scheme == nil { t.scheme = x.text } }
        else if x.named("CategoryCode") { if t.category == nil { t.category = x.text } }
        else if x.named("RateApplicablePercent") { if t.rate == nil { t.rate = number(x) } }
        else if x.named("ExemptionReason") { if t.exemptionReason == nil { t.exemptionReason = x.text } }
        else if x.named("ExemptionReasonCode") { if t.exemptionReasonCode == nil { t.exemptionReasonCode = x.text } }
    }

    @inline(__always)
    static func number(_ x: XNode) -> M.Number {
        M.Number(raw: x.text, currencyID: x.attribute("currencyID") ?? x.attribute("unitCode"))
    }

    // MARK: parties

    static func party(_ e: XNode, _ role: M.PartyRole) -> M.Party {
        var p = M.Party(role: role)
        e.forEachChild { c in
            if c.named("ID") {
                p.identifiers.append(M.PartyIdentifier(value: c.text, scheme: c.attribute("schemeID"), hasSchemeAttribute: c.hasAttribute("schemeID"), isGlobal: false))
            } else if c.named("GlobalID") {
                p.identifiers.append(M.PartyIdentifier(value: c.text, scheme: c.attribute("schemeID"), hasSchemeAttribute: c.hasAttribute("schemeID"), isGlobal: true))
            } else if c.named("Name") {
                if p.name == nil { p.name = c.text }
            } else if c.named("SpecifiedLegalOrganization") {
                c.forEachChild { x in
                    if x.named("ID") { p.legalIDs.append(M.Identifier(value: x.text, scheme: x.attribute("schemeID"))) }
                    else if x.named("TradingBusinessName") { if p.tradingName == nil { p.tradingName = x.text } }
                }
            } else if c.named("PostalTradeAddress") {
                if p.address == nil { p.address = address(c) }
            } else if c.named("URIUniversalCommunication") {
                p.endpointCount += 1
                if p.endpoint == nil, let u = c.child("URIID") {
                    p.endpoint = M.Identifier(value: u.text, scheme: u.attribute("schemeID"))
                    p.endpointHasSchemeAttribute = u.hasAttribute("schemeID")
                }
            } else if c.named("SpecifiedTaxRegistration") {
                if let id = c.child("ID") { p.taxRegistrations.append(M.Identifier(value: id.text, scheme: id.attribute("schemeID"))) }
            } else if c.named("DefinedTradeContact") {
                if p.contact == nil { p.contact = (c.child("PersonName") ?? c.child("DepartmentName"))?.text }
            }
        }
        return p
    }

    static func address(_ c: XNode) -> M.Address {
        var a = M.Address()
        c.forEachChild { x in
            if x.named("LineOne") || x.named("LineTwo") || x.named("LineThree") { a.lines.append(x.text) }
            else if x.named("CityName") { a.city = x.text }
            else if x.named("PostcodeCode") { a.postcode = x.text }
            else if x.named("CountrySubDivisionName") { a.subdivision = x.text }
            else if x.named("CountryID") { if a.country == nil { a.country = x.text } }
        }
        return a
    }

    // MARK: lines

    static func line(_ e: XNode) -> M.Line {
        var l = M.Line()
        var seenAgreement = false
        e.forEachChild { c in
            if c.named("AssociatedDocumentLineDocument") {
                c.forEachChild { x in
                    if x.named("LineID") { if l.id == nil { l.id = x.text } }
                    else if x.named("ParentLineID") { l.parentLineID = x.text }
                    else if x.named("LineStatusReasonCode") { l.statusReasonCode = x.text }
                    else if x.named("IncludedNote") { if l.note == nil { l.note = x.child("Content")?.text } }
                }
            } else if c.named("SpecifiedTradeProduct") {
                c.forEachChild { x in
                    if x.named("Name") { if l.itemName == nil { l.itemName = x.text } }
                    else if x.named("Description") { if l.itemDescription == nil { l.itemDescription = x.text } }
                    else if x.named("SellerAssignedID") { l.sellerItemID = x.text }
                    else if x.named("BuyerAssignedID") { l.buyerItemID = x.text }
                    else if x.named("GlobalID") {
                        if l.standardItemID == nil {
                            l.standardItemID = M.Identifier(value: x.text, scheme: x.attribute("schemeID"))
                            l.standardItemIDHasScheme = x.hasAttribute("schemeID")
                        }
                    } else if x.named("ApplicableProductCharacteristic") {
                        let d = x.child("Description")?.text
                        let v = x.child("Value")?.text
                        if let d, let v { l.attributes.append(M.Identifier(value: v, scheme: d)) } else { l.incompleteAttributes += 1 }
                    } else if x.named("DesignatedProductClassification") {
                        if let code = x.child("ClassCode") {
                            let list = code.attribute("listID")
                            l.classifications.append(M.Identifier(value: code.text, scheme: list))
                            if InvoiceModel.norm(list).isEmpty { l.classificationsHaveListID = false }
                        }
                    }
                }
            } else if c.named("SpecifiedLineTradeAgreement") {
                guard !seenAgreement else { return }
                seenAgreement = true
                c.forEachChild { x in
                    if x.named("NetPriceProductTradePrice") {
                        x.forEachChild { y in
                            if y.named("ChargeAmount") { l.netPriceCount += 1; if l.netPrice == nil { l.netPrice = number(y) } }
                            else if y.named("BasisQuantity") { if l.priceBaseQuantity == nil { l.priceBaseQuantity = number(y) } }
                        }
                    } else if x.named("GrossPriceProductTradePrice") {
                        x.forEachChild { y in
                            if y.named("ChargeAmount") { if l.grossPrice == nil { l.grossPrice = number(y) } }
                            else if y.named("AppliedTradeAllowanceCharge") {
                                if l.priceDiscount == nil, let a = y.child("ActualAmount") { l.priceDiscount = number(a) }
                            }
                        }
                    }
                }
            } else if c.named("SpecifiedLineTradeDelivery") {
                c.forEachChild { x in
                    if x.named("BilledQuantity") {
                        if !l.hasQuantity {
                            l.hasQuantity = true
                            l.quantity = M.Number(raw: x.text, currencyID: x.attribute("unitCode"))
                            l.unitCode = x.attribute("unitCode")
                            l.hasUnitCode = x.hasAttribute("unitCode")
                        }
                    } else if x.named("ShipToTradeParty") {
                        l.shipTo = party(x, .shipTo)
                    } else if x.named("ActualDeliverySupplyChainEvent") {
                        if let d = x.child("OccurrenceDateTime")?.child("DateTimeString") { l.deliveryDate = date(d) }
                    }
                }
            } else if c.named("SpecifiedLineTradeSettlement") {
                c.forEachChild { x in
                    if x.named("ApplicableTradeTax") {
                        var t = M.TaxCategory()
                        x.forEachChild { taxField($0, &t) }
                        l.taxes.append(t)
                    } else if x.named("BillingSpecifiedPeriod") {
                        if l.period == nil { l.period = period(x) }
                    } else if x.named("SpecifiedTradeAllowanceCharge") {
                        l.allowancesCharges.append(allowanceCharge(x))
                    } else if x.named("SpecifiedTradeSettlementLineMonetarySummation") {
                        if l.netAmount == nil, let a = x.child("LineTotalAmount") { l.netAmount = number(a) }
                    } else if x.named("InvoiceReferencedDocument") {
                        l.precedingInvoices.append(invoiceReference(x))
                    } else if x.named("AdditionalReferencedDocument") {
                        l.objectReferences.append(additionalDocument(x))
                    }
                }
            }
        }
        return l
    }
}
