/// A party as the gateway keys it: the French SIREN when there is one, else the VAT id, else
/// the seller/buyer identifier, with the scheme saying which.
public struct PartyKey: Sendable, Codable, Equatable, Hashable, CustomStringConvertible {
    /// "0002" (SIREN), "VAT", or "ID" (BT-29/BT-46, with its own scheme appended when present).
    public var scheme: String
    public var value: String

    public init(scheme: String, value: String) {
        self.scheme = scheme
        self.value = value
    }

    public var description: String { "\(scheme):\(value)" }
}

/// The key business terms of one invoice (EN 16931 numbering), as written in the document.
/// Amounts stay decimal strings: they are journalled and signed as the sender wrote them.
public struct InvoiceFacts: Sendable, Codable, Equatable {
    public var syntax: InvoiceSyntax
    public var number: String?          // BT-1
    public var issueDate: String?       // BT-2, normalised to YYYY-MM-DD
    public var typeCode: String?        // BT-3
    public var currency: String?        // BT-5
    public var specification: String?   // BT-24
    public var sellerName: String?      // BT-27
    public var buyerName: String?       // BT-44
    public var seller: PartyKey?        // from BT-30 (0002) / BT-31 / BT-29
    public var buyer: PartyKey?         // from BT-47 (0002) / BT-48 / BT-46
    public var sellerSIREN: String?
    public var buyerSIREN: String?
    public var totalWithoutVAT: String? // BT-109
    public var totalVAT: String?        // BT-110
    public var totalWithVAT: String?    // BT-112
    /// BT-24 read as a Factur-X / CIUS profile name ("EN16931", "BASIC WL", ...), when known.
    public var profile: String?
    /// Where the XML came from when it was embedded ("factur-x.xml in a PDF").
    public var container: String?
    /// The statuses of a CDAR lifecycle message.
    public var lifecycle: [LifecycleStatus]?

    public init(syntax: InvoiceSyntax) { self.syntax = syntax }

    /// "YYYY-MM" of the issue date: batches never mix months.
    public var issueMonth: String? { issueDate.map { String($0.prefix(7)) } }
    /// The issue year, part of the PPF uniqueness key (seller SIREN, number, year).
    public var issueYear: String? { issueDate.map { String($0.prefix(4)) } }
}

/// One finding about a file or an invoice, with the rule that found it and the reason code the
/// CDAR receipt carries.
public struct Anomaly: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    /// The rule id (official ones such as "BR-02", "BR-FR-10", or ours such as "FLUX-XML-SYNTAX").
    public var rule: String
    /// The CDAR reason code (IRR_* for a flux, REJ_SEMAN / DOUBLON ... for an invoice).
    public var reasonCode: String
    public var message: String
    /// Where in the document (an XPath of the offending element or its parent), when known.
    public var location: String?

    public init(rule: String, reasonCode: String, message: String, location: String? = nil) {
        self.rule = rule
        self.reasonCode = reasonCode
        self.message = message
        self.location = location
    }

    public var description: String { "\(rule) [\(reasonCode)] \(message)" }
}
