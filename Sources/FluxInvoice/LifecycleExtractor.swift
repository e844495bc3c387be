import Foundation

/// One status carried by a CDAR lifecycle message (one referenced document).
public struct LifecycleStatus: Sendable, Codable, Equatable {
    /// The referenced invoice (BT-1 of the invoice the status is about).
    public var invoiceNumber: String?
    /// The status code (MDT-105), e.g. "200" Déposée, "210" Refusée, "212" Encaissée.
    public var code: String?
    public var label: String?
    /// Reason codes (MDT-113), e.g. "DOUBLON", "REJ_SEMAN".
    public var reasons: [String]
}

/// Reads the statuses out of a CDAR D22B lifecycle message (EINVOICING.md §2.2).
public enum LifecycleExtractor {
    static let ns: [String: String] = [
        "rsm": InvoiceSyntax.cdarNS,
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
        "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    ]

    public static func extract(_ doc: XMLDoc) -> (facts: InvoiceFacts, statuses: [LifecycleStatus]) {
        let x = doc.xpath(ns)
        let ack = "/rsm:CrossDomainAcknowledgementAndResponse/rsm:AcknowledgementDocument"
        var statuses: [LifecycleStatus] = []
        let count = min(x.count("\(ack)/ram:ReferenceReferencedDocument"), 1000)
        for i in 0..<count {
            let r = "\(ack)/ram:ReferenceReferencedDocument[\(i + 1)]"
            statuses.append(LifecycleStatus(
                invoiceNumber: x.string("\(r)/ram:IssuerAssignedID"),
                code: x.string("\(r)/ram:ProcessConditionCode"),
                label: x.string("\(r)/ram:ProcessCondition"),
                reasons: x.strings("\(r)/ram:SpecifiedDocumentStatus/ram:ReasonCode", max: 50)))
        }
        var f = InvoiceFacts(syntax: .cdar)
        f.number = statuses.first?.invoiceNumber
        f.sellerSIREN = x.string("\(ack)/ram:ReferenceReferencedDocument[1]/ram:IssuerTradeParty/ram:GlobalID[@schemeID='0002']")
        f.issueDate = x.string("\(ack)/ram:ReferenceReferencedDocument[1]/ram:FormattedIssueDateTime/qdt:DateTimeString").map(InvoiceExtractor.normaliseDate)
        f.typeCode = x.string("\(ack)/ram:ReferenceReferencedDocument[1]/ram:TypeCode")
        f.lifecycle = statuses
        return (f, statuses)
    }
}
