/// What a deposited XML is, decided from its root element and namespace.
public enum InvoiceSyntax: String, Sendable, Codable, Equatable, CaseIterable {
    case ublInvoice = "UBL-Invoice"
    case ublCreditNote = "UBL-CreditNote"
    case cii = "CII"
    case cdar = "CDAR"

    static let ublInvoiceNS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    static let ublCreditNoteNS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    static let ciiNS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    static let cdarNS = "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"
    static let zugferd1NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"

    /// Whether documents of this syntax are invoices (batched) rather than lifecycle messages.
    public var isInvoice: Bool { self != .cdar }

    /// Detects the syntax from the root, or explains by name why it is not supported.
    public static func detect(rootName: String, namespace: String?) -> Result<InvoiceSyntax, UnsupportedSyntax> {
        switch (rootName, namespace) {
        case ("Invoice", ublInvoiceNS): return .success(.ublInvoice)
        case ("CreditNote", ublCreditNoteNS): return .success(.ublCreditNote)
        case ("CrossIndustryInvoice", ciiNS): return .success(.cii)
        case ("CrossDomainAcknowledgementAndResponse", cdarNS): return .success(.cdar)
        case (_, zugferd1NS): return .failure(UnsupportedSyntax(name: "ZUGFeRD 1.0 (\(zugferd1NS))"))
        default:
            return .failure(UnsupportedSyntax(name: "XML root <\(rootName)>" + (namespace.map { " in namespace \($0)" } ?? " without namespace")))
        }
    }
}

/// A recognisable but unsupported document, named so the sender knows what we saw.
public struct UnsupportedSyntax: Error, Sendable, Equatable {
    public var name: String
}
