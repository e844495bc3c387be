import Foundation

/// One invoice (UBL 2.1 Invoice/CreditNote or CII D16B/D22B) as the EN 16931 semantic model,
/// built in one pass over the parsed document. Everything `invoice show` renders and every
/// rule checks reads from here, never from the XML again.
///
/// Text values are kept as written (untrimmed): several official rules look at the raw value
/// (`string-length(.)`, "contains a space"). Use `InvoiceModel.norm(_:)` for the XPath
/// `normalize-space` reading. Amounts keep their lexical form next to the exact `Decimal`.
public struct InvoiceModel: Sendable, Codable, Equatable {
    public var syntax: InvoiceSyntax
    /// BT-24 read as a profile.
    public var profile: FacturXProfile

    // MARK: BG-2 process control, BG-1 document
    /// BT-24 Specification identifier.
    public var specificationID: String?
    /// BT-23 Business process type ("cadre de facturation" in France).
    public var businessProcess: String?
    /// BT-1 Invoice number.
    public var number: String?
    /// BT-2 Issue date as written (UBL YYYY-MM-DD, CII YYYYMMDD).
    public var issueDate: DateValue?
    /// BT-3 Invoice type code.
    public var typeCode: String?
    /// BT-5 Invoice currency code.
    public var currency: String?
    /// BT-6 VAT accounting currency code.
    public var taxCurrency: String?
    /// BT-7 VAT point date.
    public var taxPointDate: DateValue?
    /// BT-8 VAT point date code (UBL `InvoicePeriod/DescriptionCode`, CII `DueDateTypeCode`).
    public var taxPointDateCode: String?
    /// BT-9 Payment due date(s) (CII may repeat payment terms).
    public var dueDates: [DateValue] = []
    /// BT-10 Buyer reference.
    public var buyerReference: String?
    /// BT-11 Project reference, BT-12 contract reference, BT-13 purchase order reference.
    public var projectReference: String?
    public var contractReference: String?
    public var orderReference: String?
    /// BG-1 Invoice notes: subject code (BT-21) and text (BT-22). In UBL the French convention
    /// `#CODE#text` is split into both.
    public var notes: [Note] = []

    // MARK: Parties
    /// BG-4 Seller.
    public var seller: Party?
    /// BG-7 Buyer.
    public var buyer: Party?
    /// BG-10 Payee.
    public var payee: Party?
    /// BG-11 Seller tax representative.
    public var taxRepresentative: Party?
    /// Other French parties (agents, invoicer, invoicee, payer) that carry identifiers checked by
    /// the French rules.
    public var otherParties: [Party] = []

    // MARK: Delivery, period
    /// BG-13 Delivery information (BT-70..BT-72, BG-15).
    public var delivery: Delivery?
    /// BG-14 Invoicing period.
    public var invoicePeriod: Period?

    // MARK: References, payment
    /// BG-3 Preceding invoice references.
    public var precedingInvoices: [DocumentReference] = []
    /// UBL only: number of `cac:BillingReference` elements (BR-FR-CO-04 counts them).
    public var billingReferenceCount: Int = 0
    /// BG-24 Additional supporting documents (and CII tender/invoiced object references).
    public var additionalDocuments: [AdditionalDocument] = []
    /// BG-16 Payment instructions.
    public var paymentMeans: [PaymentMeans] = []
    /// BT-20 Payment terms.
    public var paymentTerms: String?

    // MARK: Lines, allowances, VAT, totals
    /// BG-25 Invoice lines.
    public var lines: [Line] = []
    /// BG-20 / BG-21 Document level allowances and charges.
    public var allowancesCharges: [AllowanceCharge] = []
    /// BG-23 VAT breakdown.
    public var vatBreakdown: [VATBreakdown] = []
    /// BG-22 Document totals.
    public var totals: Totals?

    public init(syntax: InvoiceSyntax) {
        self.syntax = syntax
        self.profile = .other
    }

    /// XPath `normalize-space`: trims and collapses inner whitespace runs to one space.
    public static func norm(_ s: String?) -> String {
        guard let s else { return "" }
        // Fast path: most values are already normalized (no edge or doubled whitespace).
        var clean = true
        var previousSpace = true
        for b in s.utf8 {
            if b == 0x09 || b == 0x0A || b == 0x0D { clean = false; break }
            if b == 0x20 {
                if previousSpace { clean = false; break }
                previousSpace = true
            } else {
                previousSpace = false
            }
        }
        if clean && !previousSpace { return s }
        if s.isEmpty { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        var pendingSpace = false
        for ch in s.unicodeScalars {
            if ch == " " || ch == "\t" || ch == "\n" || ch == "\r" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.unicodeScalars.append(" "); pendingSpace = false }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// `upper-case(s) = 'VAT'` (optionally after normalize-space), without allocating.
    static func isVAT(_ s: String?, trimming: Bool) -> Bool {
        guard let s else { return false }
        var u = s.utf8[...]
        if trimming {
            while let f = u.first, f == 0x20 || f == 0x09 || f == 0x0A || f == 0x0D { u = u.dropFirst() }
            while let l = u.last, l == 0x20 || l == 0x09 || l == 0x0A || l == 0x0D { u = u.dropLast() }
        }
        guard u.count == 3 else { return false }
        var i = u.startIndex
        for expected in [UInt8(ascii: "V"), UInt8(ascii: "A"), UInt8(ascii: "T")] {
            if u[i] & 0xDF != expected { return false }
            i = u.index(after: i)
        }
        return true
    }

    /// Whether this document is a UBL one (Invoice or CreditNote).
    public var isUBL: Bool { syntax == .ublInvoice || syntax == .ublCreditNote }
}

extension InvoiceModel {
    /// A date as written, with the CII `@format` attribute when there is one.
    public struct DateValue: Sendable, Codable, Equatable, CustomStringConvertible {
        public var raw: String
        public var format: String?

        public init(raw: String, format: String? = nil) {
            self.raw = raw
            self.format = format
        }

        /// ISO YYYY-MM-DD when the value is a valid CII 102 or UBL date, else the trimmed raw text.
        public var iso: String {
            let t = InvoiceModel.norm(raw)
            if t.count == 8, t.allSatisfy(\.isASCIIDigit) {
                let a = Array(t)
                return String(a[0..<4]) + "-" + String(a[4..<6]) + "-" + String(a[6..<8])
            }
            return t
        }

        public var description: String { iso }
    }

    /// BT-21/BT-22.
    public struct Note: Sendable, Codable, Equatable {
        /// Subject code (CII `SubjectCode`; UBL `#CODE#` prefix).
        public var subjectCode: String?
        /// Text (CII `Content`; UBL after the prefix).
        public var content: String
        /// UBL: the whole `cbc:Note` text as written; CII: nil.
        public var raw: String?
    }

    /// An identifier with its scheme (ISO 6523 ICD, EAS, or `VA`/`FC` for tax registrations).
    public struct Identifier: Sendable, Codable, Equatable, CustomStringConvertible {
        public var value: String
        public var scheme: String?

        public init(value: String, scheme: String? = nil) {
            self.value = value
            self.scheme = scheme
        }

        public var description: String { scheme.map { "\($0):\(value)" } ?? value }
    }

    /// A postal address (BG-5, BG-8, BG-12, BG-15).
    public struct Address: Sendable, Codable, Equatable {
        public var lines: [String] = []
        public var city: String?
        public var postcode: String?
        public var subdivision: String?
        /// Country code as written (`CountryID` / `Country/IdentificationCode`); nil when absent.
        public var country: String?
    }

    /// The role of a party, as the French rule ids name it.
    public enum PartyRole: String, Sendable, Codable, Equatable {
        case seller, buyer, payee, taxRepresentative
        case buyerAgent, payer, salesAgent, invoicee, invoicer, shipTo
    }

    /// A trade party.
    public struct Party: Sendable, Codable, Equatable {
        public var role: PartyRole
        /// BT-27 / BT-44 registration name (CII `Name`, UBL `PartyLegalEntity/RegistrationName`;
        /// for payee and tax representative the UBL `PartyName/Name`).
        public var name: String?
        /// BT-28 / BT-45 trading name (UBL `PartyName/Name`, CII `TradingBusinessName`).
        public var tradingName: String?
        /// BT-29 / BT-46 identifiers. CII: `ram:ID` (no scheme) then `GlobalID` entries with
        /// `isGlobal`; UBL: every `PartyIdentification/ID` (`isGlobal` true).
        public var identifiers: [PartyIdentifier] = []
        /// BT-30 / BT-47 legal registration identifiers.
        public var legalIDs: [Identifier] = []
        /// UBL: whether `cac:PartyLegalEntity` is present.
        public var hasLegalEntity: Bool = false
        /// BT-31/BT-32/BT-48/BT-63 tax registrations: scheme is CII `@schemeID` (VA, FC) or UBL
        /// `TaxScheme/ID` (VAT, ...).
        public var taxRegistrations: [Identifier] = []
        /// UBL: number of `cac:PartyTaxScheme` elements (including ones without CompanyID).
        public var taxSchemeCount: Int = 0
        /// BT-34 / BT-49 electronic address (first), with its scheme.
        public var endpoint: Identifier?
        /// Whether an endpoint element exists (even empty), and how many (CII may repeat).
        public var endpointCount: Int = 0
        /// UBL: whether the first endpoint carries `@schemeID` (even empty).
        public var endpointHasSchemeAttribute: Bool = false
        /// Postal address, when the element exists.
        public var address: Address?
        /// Contact (BG-6 / BG-9), for display.
        public var contact: String?

        public init(role: PartyRole) { self.role = role }

        /// The VAT identifier (BT-31/BT-48/BT-63): CII `VA` scheme, UBL tax scheme `VAT`.
        public var vatID: String? {
            taxRegistrations.first { $0.scheme.map { InvoiceModel.norm($0).uppercased() } == "VA" || $0.scheme.map { InvoiceModel.norm($0).uppercased() } == "VAT" }?.value
        }

        /// The SIREN (first legal identifier with scheme 0002).
        public var siren: String? { legalIDs.first { $0.scheme == "0002" }?.value }
    }

    /// BT-29-like identifier, distinguishing the CII `GlobalID` form.
    public struct PartyIdentifier: Sendable, Codable, Equatable {
        public var value: String
        public var scheme: String?
        /// Whether `@schemeID` is present (even empty).
        public var hasSchemeAttribute: Bool
        /// CII `GlobalID` (true) or `ID` (false); UBL always true.
        public var isGlobal: Bool
    }

    /// BG-13 delivery information.
    public struct Delivery: Sendable, Codable, Equatable {
        /// BT-70 Deliver-to party name.
        public var partyName: String?
        /// BT-71 Deliver-to location identifier(s): UBL `DeliveryLocation/ID`, CII `ShipToTradeParty`
        /// `ID`/`GlobalID`.
        public var locationIDs: [PartyIdentifier] = []
        /// BT-72 Actual delivery date.
        public var actualDate: DateValue?
        /// BG-15 Deliver-to address, when the element exists.
        public var address: Address?
        /// Deliver-to SIREN (UBL `DeliveryParty/PartyLegalEntity/CompanyID[@schemeID='0002']`,
        /// CII `ShipToTradeParty/SpecifiedLegalOrganization/ID[@schemeID='0002']`).
        public var legalIDs: [Identifier] = []
        /// UBL: whether `cac:DeliveryLocation` exists.
        public var hasLocation: Bool = false
    }

    /// BG-14 / BG-26 period.
    public struct Period: Sendable, Codable, Equatable {
        public var start: DateValue?
        public var end: DateValue?
        /// UBL BT-8 (document level only).
        public var descriptionCode: String?
        /// Whether the period element has any child element.
        public var hasChildren: Bool = false
    }

    /// BG-3 preceding invoice (header, or EXT-FR-FE-136 on a line).
    public struct DocumentReference: Sendable, Codable, Equatable {
        /// BT-25 as written; nil when the ID element is absent.
        public var id: String?
        /// BT-26.
        public var issueDate: DateValue?
        /// EXT-FR-FE-02 / EXT-FR-FE-137 type code of the referenced invoice.
        public var typeCode: String?
        /// UBL `DocumentStatusCode` (French multi-vendor convention).
        public var statusCode: String?
        /// UBL: whether `cac:InvoiceDocumentReference` exists in the `cac:BillingReference`.
        public var hasInvoiceDocumentReference: Bool = true
    }

    /// BG-24 supporting document (and CII BT-17/BT-18 references in the same element).
    public struct AdditionalDocument: Sendable, Codable, Equatable {
        /// BT-122 / BT-18 identifier (CII `IssuerAssignedID`, UBL `cbc:ID`); nil when absent.
        public var id: String?
        /// UBL `cbc:ID/@schemeID`.
        public var idScheme: String?
        /// Document type code (`TypeCode` / `DocumentTypeCode`: 916, 130, 50).
        public var typeCode: String?
        /// BT-123 description (CII `Name`, UBL `DocumentDescription`).
        public var description: String?
        /// CII `ReferenceTypeCode` (BT-18-1).
        public var referenceTypeCode: String?
        /// Attachment MIME code and file name, when there is an embedded object.
        public var mimeCode: String?
        public var filename: String?
    }

    /// BG-16 payment instructions.
    public struct PaymentMeans: Sendable, Codable, Equatable {
        /// BT-81 code as written; nil when absent.
        public var code: String?
        /// BT-82 text.
        public var information: String?
        /// BT-84 payment account identifiers (IBAN or proprietary) as written.
        public var accounts: [String] = []
        /// Whether a payee account element exists.
        public var hasAccountElement: Bool = false
        /// BT-87 card PAN (last digits).
        public var cardNumber: String?
        /// BT-89 direct debit mandate reference.
        public var mandateReference: String?
        /// UBL `cbc:PaymentDueDate` (French rules accept it as a due date).
        public var dueDate: DateValue?
    }

    /// A VAT category reference on a line, an allowance/charge or a breakdown.
    public struct TaxCategory: Sendable, Codable, Equatable {
        /// BT-95/BT-102/BT-118/BT-151 code as written; nil when absent.
        public var category: String?
        /// BT-96/BT-103/BT-119/BT-152 rate as written.
        public var rate: Number?
        /// Tax scheme: CII `TypeCode`, UBL `TaxScheme/ID` (expected "VAT").
        public var scheme: String?
        /// BT-120 / BT-121.
        public var exemptionReason: String?
        public var exemptionReasonCode: String?

        public init() {}

        /// XPath `upper-case(normalize-space(scheme)) = 'VAT'` (UBL style).
        public var isVATNormalized: Bool { InvoiceModel.isVAT(scheme, trimming: true) }
        /// XPath `upper-case(scheme) = 'VAT'` (CII style, no trimming).
        public var isVATRaw: Bool { InvoiceModel.isVAT(scheme, trimming: false) }
        /// The category code trimmed.
        public var code: String { InvoiceModel.norm(category) }
    }

    /// BG-20/BG-21 (document) or BG-27/BG-28 (line) allowance or charge.
    public struct AllowanceCharge: Sendable, Codable, Equatable {
        /// The charge indicator as written (`true`/`false`/`1`/`0`); nil when absent.
        public var indicator: String?
        /// BT-92/BT-99/BT-136/BT-141.
        public var amount: Number?
        /// Number of amount elements (CII `ActualAmount` may repeat).
        public var amountCount: Int = 0
        /// BT-93/BT-100 base amount.
        public var baseAmount: Number?
        /// BT-94/BT-101 percentage.
        public var percent: Number?
        /// BT-97/BT-104 reason, BT-98/BT-105 reason code.
        public var reason: String?
        public var reasonCode: String?
        /// BT-95/BT-102 VAT category (document level).
        public var tax: TaxCategory?

        public init() {}

        /// XPath boolean reading of the indicator (`= true()`): nil when not a boolean lexical.
        public var isCharge: Bool? {
            switch InvoiceModel.norm(indicator) {
            case "true", "1": return true
            case "false", "0": return false
            default: return nil
            }
        }
    }

    /// BG-25 invoice line.
    public struct Line: Sendable, Codable, Equatable {
        /// BT-126 line identifier.
        public var id: String?
        /// BT-127 note.
        public var note: String?
        /// BT-129 invoiced quantity with BT-130 unit.
        public var quantity: Number?
        public var unitCode: String?
        /// Whether the quantity element exists / has `@unitCode`.
        public var hasQuantity: Bool = false
        public var hasUnitCode: Bool = false
        /// BT-131 line net amount.
        public var netAmount: Number?
        /// BT-146 item net price; BT-149 base quantity (+unit BT-150).
        public var netPrice: Number?
        public var netPriceCount: Int = 0
        public var priceBaseQuantity: Number?
        /// BT-148 gross price and BT-147 price discount.
        public var grossPrice: Number?
        public var priceDiscount: Number?
        /// UBL: `cac:Price/cac:AllowanceCharge/cbc:BaseAmount` (BR-28 reads it as the gross price).
        /// BT-153 item name, BT-154 description.
        public var itemName: String?
        public var itemDescription: String?
        /// BT-155 seller's, BT-156 buyer's, BT-157 standard item identifier.
        public var sellerItemID: String?
        public var buyerItemID: String?
        public var standardItemID: Identifier?
        /// Whether the standard item identifier has a `@schemeID`.
        public var standardItemIDHasScheme: Bool = false
        /// BT-158 classification codes (value, listID).
        public var classifications: [Identifier] = []
        /// Whether every classification code has a `@listID`.
        public var classificationsHaveListID: Bool = true
        /// BT-151/BT-152 VAT (CII may carry several `ApplicableTradeTax`).
        public var taxes: [TaxCategory] = []
        /// BG-26 line period.
        public var period: Period?
        /// BG-27/BG-28 line allowances and charges.
        public var allowancesCharges: [AllowanceCharge] = []
        /// BG-32 item attributes (name, value) and how many lack one of them.
        public var attributes: [Identifier] = []
        public var incompleteAttributes: Int = 0
        /// French extensions: referenced invoice on the line, status reason, parent line, delivery.
        public var precedingInvoices: [DocumentReference] = []
        public var statusReasonCode: String?
        public var parentLineID: String?
        public var deliveryDate: DateValue?
        /// French: line ship-to identifiers (EXT-FR-FE-146).
        public var shipTo: Party?
        /// French: AFL / AVV line references (BT-128 reference type or UBL `@schemeID`).
        public var objectReferences: [AdditionalDocument] = []

        public init() {}

        /// The first VAT category of the line.
        public var tax: TaxCategory? { taxes.first }
    }

    /// BG-23 VAT breakdown entry.
    public struct VATBreakdown: Sendable, Codable, Equatable {
        /// BT-116 taxable amount, BT-117 tax amount.
        public var taxableAmount: Number?
        public var taxAmount: Number?
        /// BT-118..BT-121 (plus the scheme / CII TypeCode).
        public var tax: TaxCategory
        /// CII: BT-8 `DueDateTypeCode` and BT-7 `TaxPointDate` inside the breakdown.
        public var dueDateTypeCode: String?
        /// UBL: whether `cac:TaxCategory` exists.
        public var hasCategoryElement: Bool = true
        /// UBL: index of the parent `cac:TaxTotal`.
        public var taxTotalIndex: Int = 0
    }

    /// BG-22 document totals.
    public struct Totals: Sendable, Codable, Equatable {
        /// Whether the totals element exists (CII `SpecifiedTradeSettlementHeaderMonetarySummation`,
        /// UBL `cac:LegalMonetaryTotal`); UBL tax totals alone do not set it.
        public var hasSummation: Bool = false
        public var lineTotal: Number?         // BT-106
        public var allowanceTotal: Number?    // BT-107
        public var chargeTotal: Number?       // BT-108
        public var taxBasisTotal: Number?     // BT-109
        /// BT-110 / BT-111: every total tax amount with its currency (CII `TaxTotalAmount`,
        /// UBL `TaxTotal/TaxAmount`, in document order).
        public var taxTotals: [Number] = []
        public var grandTotal: Number?        // BT-112
        public var prepaidAmount: Number?     // BT-113
        public var roundingAmount: Number?    // BT-114
        public var duePayable: Number?        // BT-115

        /// BT-110: the tax total in the invoice currency.
        public func taxTotal(in currency: String?) -> Number? {
            taxTotals.first { $0.currencyID == currency }
        }
    }

    /// A decimal value (amount, quantity, percentage) as written, with its exact value.
    public struct Number: Sendable, Codable, Equatable, CustomStringConvertible {
        /// Lexical value as written (untrimmed).
        public var raw: String
        /// `@currencyID` (amounts) or `@unitCode` (quantities), when present.
        public var currencyID: String?
        /// The exact value of the trimmed lexical form, nil when it is not an xs:decimal.
        public var value: XSDec?

        public init(raw: String, currencyID: String? = nil) {
            self.raw = raw
            self.currencyID = currencyID
            self.value = XSDecimal.parse(raw)
        }

        public var description: String { InvoiceModel.norm(raw) }
    }
}
