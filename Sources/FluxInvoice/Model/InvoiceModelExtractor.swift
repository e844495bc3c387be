import CLibXML2
import Foundation

/// Builds the `InvoiceModel` of a parsed UBL or CII document (one walk over the tree; no XPath).
public enum InvoiceModelExtractor {
    /// The model of `doc`, read with the bindings of `syntax` (CDAR gives an empty model).
    public static func extract(_ doc: XMLDoc, syntax: InvoiceSyntax) -> InvoiceModel {
        extractWithFacts(doc, syntax: syntax).model
    }

    /// The model plus the document-wide facts the "anywhere" rules need. The facts borrow nodes
    /// of `doc` and must not outlive it.
    static func extractWithFacts(_ doc: XMLDoc, syntax: InvoiceSyntax) -> (model: InvoiceModel, facts: ExtractionFacts) {
        guard let root = doc.rootElement else { return (InvoiceModel(syntax: syntax), ExtractionFacts()) }
        var facts = ExtractionFacts()
        switch syntax {
        case .cii:
            let m = CIIModelExtractor.extract(root)
            root.forEachChild { c in
                if c.named("ExchangedDocument") {
                    facts.hasExchangedDocument = true
                    c.forEachChild { if $0.named("TypeCode") { facts.documentTypeCodeCount += 1 } }
                } else if c.named("ExchangedDocumentContext") {
                    facts.hasDocumentContext = true
                    c.forEachChild { p in
                        guard p.named("GuidelineSpecifiedDocumentContextParameter") else { return }
                        facts.guidelineParameterCount += 1
                        p.forEachChild { if $0.named("ID") { facts.guidelineIDCount += 1 } }
                    }
                } else if c.named("SupplyChainTradeTransaction") {
                    c.forEachChild { l in
                        if l.named("IncludedSupplyChainTradeLineItem") { facts.lineHasAgreement.append(l.child("SpecifiedLineTradeAgreement") != nil) }
                    }
                }
            }
            scanCII(root, parent: nil, inProduct: false, inShipTo: false, inTaxRegistration: false, &facts)
            return (m, facts)
        case .ublInvoice, .ublCreditNote:
            let m = UBLModelExtractor.extract(root, syntax: syntax)
            root.forEachChild { c in
                if c.named("TaxTotal") { facts.ublTaxTotals.append(c.child("TaxAmount").map { hit($0) }) }
            }
            scanUBL(root, parent: nil, inPriceAllowance: false, inSupplierOrPayee: false, &facts)
            return (m, facts)
        case .cdar:
            return (InvoiceModel(syntax: syntax), facts)
        }
    }

    // MARK: generic scans

    private static func hit(_ e: XNode, _ value: String? = nil) -> ExtractionFacts.Hit {
        ExtractionFacts.Hit(value: value ?? e.text, node: e.node)
    }

    private static func scanCII(_ e: XNode, parent: XNode?, inProduct: Bool, inShipTo: Bool, inTaxRegistration: Bool, _ f: inout ExtractionFacts) {
        var inProduct = inProduct, inShipTo = inShipTo, inTaxRegistration = inTaxRegistration
        if e.inNamespace(XNode.NS.ram) {
            if e.named("SpecifiedTradeProduct") { inProduct = true }
            else if e.named("ShipToTradeParty") { inShipTo = true }
            else if e.named("SpecifiedTaxRegistration") { inTaxRegistration = true }
            if let scheme = e.attribute("schemeID") {
                if e.named("GlobalID") {
                    if !inProduct && !inShipTo { f.schemeIDs.append(("BR-CL-10", hit(e, scheme))) }
                    else if let p = parent, p.named("SpecifiedTradeProduct") { f.schemeIDs.append(("BR-CL-21", hit(e, scheme))) }
                    else if let p = parent, p.named("ShipToTradeParty"), let gp = p.parent, gp.named("ApplicableHeaderTradeDelivery") {
                        f.schemeIDs.append(("BR-CL-26", hit(e, scheme)))
                    }
                } else if e.named("ID"), !inTaxRegistration {
                    f.schemeIDs.append(("BR-CL-11", hit(e, scheme)))
                }
            }
            if (e.named("BilledQuantity") || e.named("BasisQuantity")), let unit = e.attribute("unitCode") { f.unitCodes.append(hit(e, unit)) }
            if e.nameEnds(with: "Amount") {
                if e.named("TaxTotalAmount") {
                    if let cur = e.attribute("currencyID") { f.currencyIDs.append(hit(e, cur)) }
                } else if e.hasAttribute("currencyID") {
                    f.amountsWithCurrency.append(hit(e, ""))
                }
            } else if e.named("CategoryCode") {
                if let p = parent {
                    if p.named("CategoryTradeTax") { f.categoryCodesCL17.append(hit(e)) }
                    else if p.named("ApplicableTradeTax") { f.categoryCodesCL18.append(hit(e)) }
                }
            } else if e.named("CountryID") {
                f.countryCodes.append(hit(e))
            } else if e.named("ID") {
                if let p = parent {
                    if p.named("SpecifiedLegalOrganization") {
                        if e.attribute("schemeID") == "0002" { f.legalIDs0002.append(hit(e)) }
                        if let gp = p.parent, gp.named("BuyerTradeParty") { f.anyBuyerLegalID = true }
                    } else if p.named("SpecifiedTaxRegistration") {
                        let scheme = e.attribute("schemeID")
                        if scheme == "VA" { f.vatIdentifiers.append(hit(e)) }
                        if let gp = p.parent {
                            if gp.named("SellerTradeParty") {
                                if scheme == "VA" { f.anySellerVA = true; f.anySellerVAorFC = true }
                                if scheme == "FC" { f.anySellerVAorFC = true }
                            } else if gp.named("SellerTaxRepresentativeTradeParty") {
                                if scheme == "VA" { f.anyTaxRepVA = true }
                            } else if gp.named("BuyerTradeParty") {
                                if scheme == "VA" { f.anyBuyerVA = true }
                            }
                        }
                    }
                }
            } else if e.named("GlobalID") {
                let s = e.attribute("schemeID")
                if s == "0002" || s == "0231" { f.globalIDs0002.append(hit(e)) }
            } else if e.named("TaxPointDate") {
                f.taxPointDateCount += 1
            } else if e.named("DueDateTypeCode") {
                f.dueDateTypeCodeCount += 1
                f.dueDateTypeCodes.append(hit(e))
            } else if e.named("TypeCode") {
                if let p = parent {
                    if p.named("SpecifiedTradeSettlementPaymentMeans") { f.paymentMeansCodes.append(hit(e)) }
                    else if p.named("ExchangedDocument"), p.inNamespace(XNode.NS.rsm) { f.typeCodes.append((hit(e), false)) }
                }
            } else if e.named("InvoiceCurrencyCode") {
                f.invoiceCurrencyCodes.append(hit(e))
            } else if e.named("TaxCurrencyCode") {
                f.taxCurrencyCodes.append(hit(e))
            }
        } else if e.inNamespace(XNode.NS.udt), e.named("DateTimeString"), e.attribute("format") == "102" {
            f.dateTimeStrings102.append(hit(e))
        }
        e.forEachChild { scanCII($0, parent: e, inProduct: inProduct, inShipTo: inShipTo, inTaxRegistration: inTaxRegistration, &f) }
    }

    private static func scanUBL(_ e: XNode, parent: XNode?, inPriceAllowance: Bool, inSupplierOrPayee: Bool, _ f: inout ExtractionFacts) {
        var inPriceAC = inPriceAllowance
        let inSupplierOrPayee = inSupplierOrPayee || e.named("AccountingSupplierParty") || e.named("PayeeParty")
        if e.inNamespace(XNode.NS.cbc) {
            if e.nameEnds(with: "Amount") {
                if !e.nameEnds(with: "PriceAmount"), !inPriceAllowance { f.ublAmounts.append(hit(e)) }
                if e.named("Amount") || e.named("BaseAmount") || e.named("PriceAmount") || e.named("TaxAmount")
                    || e.named("TaxableAmount") || e.named("LineExtensionAmount") || e.named("TaxExclusiveAmount")
                    || e.named("TaxInclusiveAmount") || e.named("AllowanceTotalAmount") || e.named("ChargeTotalAmount")
                    || e.named("PrepaidAmount") || e.named("PayableRoundingAmount") || e.named("PayableAmount") {
                    f.currencyIDs.append(hit(e, e.attribute("currencyID") ?? ""))
                }
            } else if e.named("ID") {
                if let p = parent {
                    if let scheme = e.attribute("schemeID") {
                        // BR-CL-10 (UBL) also accepts SEPA for the supplier and the payee.
                        if p.named("PartyIdentification"), !(inSupplierOrPayee && InvoiceModel.norm(scheme) == "SEPA") {
                            f.schemeIDs.append(("BR-CL-10", hit(e, scheme)))
                        }
                        else if p.named("StandardItemIdentification") { f.schemeIDs.append(("BR-CL-21", hit(e, scheme))) }
                        else if p.named("DeliveryLocation") { f.schemeIDs.append(("BR-CL-26", hit(e, scheme))) }
                    }
                    if p.named("TaxCategory") { f.categoryCodesCL17.append(hit(e)) }
                    else if p.named("ClassifiedTaxCategory") { f.categoryCodesCL18.append(hit(e)) }
                    else if p.named("PartyIdentification") {
                        let s = e.attribute("schemeID")
                        if s == "0002" || s == "0231" { f.globalIDs0002.append(hit(e)) }
                    }
                }
            } else if e.named("IdentificationCode") {
                if let p = parent, p.named("Country") { f.countryCodes.append(hit(e)) }
            } else if e.named("CompanyID") {
                if let p = parent, p.named("PartyLegalEntity"), let scheme = e.attribute("schemeID") {
                    f.schemeIDs.append(("BR-CL-11", hit(e, scheme)))
                    if scheme == "0002" { f.legalIDs0002.append(hit(e)) }
                }
            } else if e.named("InvoicedQuantity") || e.named("BaseQuantity") || e.named("CreditedQuantity") {
                if let unit = e.attribute("unitCode") { f.unitCodes.append(hit(e, unit)) }
            } else if e.named("PaymentMeansCode") {
                if let p = parent, p.named("PaymentMeans") { f.paymentMeansCodes.append(hit(e)) }
            } else if e.named("InvoiceTypeCode") {
                f.typeCodes.append((hit(e), false))
            } else if e.named("CreditNoteTypeCode") {
                f.typeCodes.append((hit(e), true))
            } else if e.named("DocumentCurrencyCode") {
                f.invoiceCurrencyCodes.append(hit(e))
            } else if e.named("TaxCurrencyCode") {
                f.taxCurrencyCodes.append(hit(e))
            } else if e.named("DescriptionCode") {
                if let p = parent, p.named("InvoicePeriod") { f.dueDateTypeCodes.append(hit(e)) }
            }
        } else if e.inNamespace(XNode.NS.cac) {
            if e.named("AllowanceCharge"), let p = parent, p.named("Price") { inPriceAC = true }
            if e.named("PartyTaxScheme") {
                if e.child("TaxScheme")?.child("ID") == nil || e.child("CompanyID") == nil { f.ublIncompleteTaxSchemes.append(hit(e, "")) }
                let scheme = InvoiceModel.norm(e.child("TaxScheme")?.child("ID")?.text).uppercased()
                if scheme == "VAT" { f.vatIdentifiers.append(hit(e, e.child("CompanyID")?.text ?? "")) }
            }
        }
        e.forEachChild { scanUBL($0, parent: e, inPriceAllowance: inPriceAC, inSupplierOrPayee: inSupplierOrPayee, &f) }
    }
}
