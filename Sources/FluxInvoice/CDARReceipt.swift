import FluxCore
import Foundation

// CDAR D22B receipts ("cycle de vie", CDV) that the gateway writes back to a partner for every
// deposit (flux). Pure Swift, Foundation only: the output is built as text, so it needs no XML
// library and is byte-for-byte deterministic for a given input.
//
// Design — one deposit gives SEVERAL CDAR documents:
//   * document "" (no suffix): the flux lifecycle, status 500 Recevable / 501 Irrecevable, whose
//     single ReferenceReferencedDocument is the deposited flux itself (IssuerAssignedID = the flux
//     name, ReferenceTypeCode urn.cpro.gouv.fr:1p0:CDV:flux);
//   * documents "-001", "-002", … (only when the flux is 500): one per invoice, status 200 Déposée
//     or 213 Rejetée, each with the invoice as its single reference (ReferenceTypeCode
//     urn.cpro.gouv.fr:1p0:CDV:einvoicingF2).
// Why: this is what the French platforms do. The PPF (DSE v3.1 §3.4–3.7) answers every flux with
// a flux lifecycle CDAR (500/501, IRR_* reasons) in its own "C…" flux, and answers each business
// object separately (one CDAR per object, "each file holds one business object"); every CDV
// example we have (FNFE, GOBL, XP Z12-012 annex B as quoted by implementers) carries exactly one
// reference with MultipleReferencesIndicator false, and AFNOR rule G7.14 gives the flux and the
// invoice different ReferenceTypeCode values. A partner's ERP that imports French CDV messages can
// therefore read each of our documents as it reads any platform's. The alternatives (one
// AcknowledgementDocument with several references, or several AcknowledgementDocument blocks in
// one message) also pass the XSD and the CDV Schematron, but rules BR-FR-CDV-11/13 look for a 501
// anywhere in the document (absolute XPath), so mixing a 501 with invoices would silently waive
// the invoice date and seller checks, and most CDV readers only look at the first reference.
//
// Rules the builder enforces so every output passes the CDAR D22B XSD and the FNFE CDV Schematron
// (BR-FR-CDV v1.4.0.03), found by running them (scripts/oracle/cdar_check.py):
//   * Sender and issuer role WK (CL-02/CL-03: TypeCode 305, transmission phase); no issuer GlobalID.
//   * Recipient: URIUniversalCommunication/URIID required unless its role is WK/DFH (CDV-08); we use
//     the partner's electronic address, else its SIREN (as the corpus samples do).
//   * Reason codes: each status has a closed list (CL-09). 501 only accepts IRR_VIDE_F, IRR_TYPE_F,
//     IRR_SYNTAX, IRR_TAILLE_PJ, IRR_NOM_PJ, IRR_VID_PJ, IRR_EXT_DOC, IRR_TAILLE_F, IRR_ANTIVIRUS,
//     IRR_NOM_F — the DSE's flux-level codes (IRR_VIDE, IRR_TAILLE, IRR_EXTRAC, IRR_FORM, …) are
//     REFUSED, so they are mapped to the nearest file-level code and the original code is kept at
//     the head of the reason text. 213 only accepts MONTANTTOTAL_ERR, CALCUL_ERR, DOUBLON, DEST_INC,
//     ADR_ERR, REJ_SEMAN, REJ_UNI, REJ_COH, REJ_ADR, REJ_CONT_B2G, REJ_REF_PJ, REJ_ASS_PJ (others →
//     REJ_SEMAN, original code kept in the text); 200 only NON_TRANSMISE (others dropped).
//   * A reason is mandatory for 213 and 501 (CDV-15): a default one is added when none is given.
//   * FormattedIssueDateTime is mandatory except for 501 (CDV-11): the flux carries its reception
//     date; an invoice whose BT-2 is unreadable carries the reception date too (stand-in).
//   * Invoice TypeCode only when it is in the French list (BR-FR-04), else omitted.
//   * Each SpecifiedDocumentStatus has a SequenceNumeric (CDV-16).
//   * The XSD and the CDV rules put no length limit on any identifier (ExchangedDocument/ID
//     included); keep messageID short (≤ 35 characters is the EDIFACT habit) and in
//     [A-Za-z0-9+-_/] so that messageID + suffix is also a safe file name.

/// A party of a CDAR receipt: the gateway platform (sender) or the depositing partner (recipient).
public struct CDARParty: Sendable, Equatable {
    /// SIREN (9 digits), written as `GlobalID schemeID="0002"`.
    public var siren: String?
    /// Company or platform name (omitted when empty).
    public var name: String
    /// UN/CEFACT party role (3035): "SE" for a seller depositing invoices, "WK" for a platform…
    /// For the sender it is ignored: a transmission-phase (305) CDAR must come from "WK".
    public var roleCode: String
    /// Platform registration number ("matricule", `GlobalID schemeID="0238"`), for the sender.
    public var platformID: String?
    /// Electronic address (`URIUniversalCommunication/URIID`); defaults to the SIREN. Required
    /// (directly or through the SIREN) for a recipient whose role is neither WK nor DFH.
    public var electronicAddress: String?
    /// EAS scheme of `electronicAddress` ("0225" = French directory address).
    public var electronicAddressScheme: String

    /// Creates a party.
    public init(siren: String?, name: String, roleCode: String, platformID: String? = nil,
                electronicAddress: String? = nil, electronicAddressScheme: String = "0225") {
        self.siren = siren
        self.name = name
        self.roleCode = roleCode
        self.platformID = platformID
        self.electronicAddress = electronicAddress
        self.electronicAddressScheme = electronicAddressScheme
    }
}

/// A status reason: a code from the CDV list (BR-FR-CDV-CL-09) and a free text for humans.
public struct CDARReason: Sendable, Equatable {
    /// Reason code, e.g. "IRR_SYNTAX", "REJ_SEMAN", "DOUBLON".
    public var code: String
    /// Explanation shown to the partner (rule id, file name, …).
    public var text: String

    /// Creates a reason.
    public init(code: String, text: String) {
        self.code = code
        self.text = text
    }
}

/// The outcome of one invoice of an accepted flux: 200 Déposée or 213 Rejetée.
public struct CDARInvoiceStatus: Sendable, Equatable {
    /// BT-1 when readable.
    public var invoiceNumber: String?
    /// BT-2 as YYYYMMDD (YYYY-MM-DD is accepted too) when readable.
    public var issueDate: String?
    /// BT-3 when readable (e.g. "380").
    public var typeCode: String?
    /// Seller SIREN when known (`IssuerTradeParty/GlobalID schemeID="0002"`).
    public var sellerSIREN: String?
    /// true → 200 Déposée, false → 213 Rejetée.
    public var accepted: Bool
    /// Reasons; required when rejected (a generic REJ_SEMAN is added when empty).
    public var reasons: [CDARReason]
    /// Name of the file inside the flux; the reference id when the invoice number is unreadable.
    public var fileName: String?

    /// Creates an invoice status.
    public init(invoiceNumber: String? = nil, issueDate: String? = nil, typeCode: String? = nil,
                sellerSIREN: String? = nil, accepted: Bool, reasons: [CDARReason] = [],
                fileName: String? = nil) {
        self.invoiceNumber = invoiceNumber
        self.issueDate = issueDate
        self.typeCode = typeCode
        self.sellerSIREN = sellerSIREN
        self.accepted = accepted
        self.reasons = reasons
        self.fileName = fileName
    }
}

/// Everything the receipt of one deposit says.
public struct CDARReceipt: Sendable, Equatable {
    /// Our receipt id (MDT-4). Each document's id is `messageID + suffix`.
    public var messageID: String
    /// When the receipt is built (written in UTC).
    public var issued: Date
    /// When the flux was received (written in UTC).
    public var received: Date
    /// The deposited file name; the flux's reference id.
    public var fluxName: String
    /// The gateway platform.
    public var sender: CDARParty
    /// The partner who deposited.
    public var recipient: CDARParty
    /// true → 500 Recevable, false → 501 Irrecevable.
    public var fluxAccepted: Bool
    /// Flux reasons; required when 501 (a generic IRR_SYNTAX is added when empty). Ignored for
    /// 500 except codes of the CDV list.
    public var fluxReasons: [CDARReason]
    /// Per-invoice outcomes; only used when the flux is accepted (a 501 flux is not processed).
    public var invoices: [CDARInvoiceStatus]
    /// MDT-2 business process ("REGULATED", "NON_REGULATED", "B2C", "B2CINT", "B2BINT",
    /// "OUTOFSCOPE"); BR-FR-CDV-CL-01 requires one of these for a recipient other than the PPF.
    public var businessProcess: String

    /// Creates a receipt.
    public init(messageID: String, issued: Date, received: Date, fluxName: String,
                sender: CDARParty, recipient: CDARParty, fluxAccepted: Bool,
                fluxReasons: [CDARReason] = [], invoices: [CDARInvoiceStatus] = [],
                businessProcess: String = "REGULATED") {
        self.messageID = messageID
        self.issued = issued
        self.received = received
        self.fluxName = fluxName
        self.sender = sender
        self.recipient = recipient
        self.fluxAccepted = fluxAccepted
        self.fluxReasons = fluxReasons
        self.invoices = invoices
        self.businessProcess = businessProcess
    }
}

/// One CDAR XML document of a receipt.
public struct CDARDocument: Sendable, Equatable {
    /// "" for the flux lifecycle document, "-001", "-002", … for the invoices, in input order.
    public var suffix: String
    /// The UTF-8 XML.
    public var xml: Data

    /// Creates a document.
    public init(suffix: String, xml: Data) {
        self.suffix = suffix
        self.xml = xml
    }
}

/// Builds the CDAR documents of a receipt (see the design note at the top of this file).
public enum CDARReceiptBuilder {
    /// The flux document first (suffix ""), then, when the flux is 500, one document per invoice.
    public static func build(_ receipt: CDARReceipt) -> [CDARDocument] {
        var docs = [CDARDocument(suffix: "", xml: fluxDocument(receipt))]
        guard receipt.fluxAccepted else { return docs }
        for (index, invoice) in receipt.invoices.enumerated() {
            let suffix = "-" + pad(index + 1, 3)
            docs.append(CDARDocument(suffix: suffix, xml: invoiceDocument(receipt, invoice, suffix: suffix)))
        }
        return docs
    }

    /// The reason code actually written for `code` under `status` ("200", "213", "500", "501"),
    /// or nil when the reason is dropped. Codes outside the CDV list for that status are mapped
    /// (501: DSE flux-level codes to file-level ones; 213: to REJ_SEMAN).
    public static func emittedReasonCode(_ code: String, status: String) -> String? {
        let code = code.trimmedWhitespace
        switch status {
        case "501":
            if allowed501.contains(code) { return code }
            return flux501Mapping[code] ?? "IRR_SYNTAX"
        case "213":
            return allowed213.contains(code) ? code : "REJ_SEMAN"
        case "200":
            return code == "NON_TRANSMISE" ? code : nil
        default:
            return allowedAny.contains(code) ? code : nil
        }
    }

    // MARK: - Code lists (FNFE BR-FR-CDV v1.4.0.03)

    /// BR-FR-CDV-CL-09_MDT-113_501.
    static let allowed501: Set<String> = [
        "IRR_VIDE_F", "IRR_TYPE_F", "IRR_SYNTAX", "IRR_TAILLE_PJ", "IRR_NOM_PJ", "IRR_VID_PJ",
        "IRR_EXT_DOC", "IRR_TAILLE_F", "IRR_ANTIVIRUS", "IRR_NOM_F",
    ]
    /// DSE flux-level irrecevability codes the CDV rules refuse, mapped to the closest allowed
    /// file-level code (the original code stays in the reason text).
    static let flux501Mapping: [String: String] = [
        "IRR_VIDE": "IRR_VIDE_F",        // empty flux / archive
        "IRR_TAILLE": "IRR_TAILLE_F",    // flux too large
        "IRR_TYPE": "IRR_TYPE_F",        // flux type / extension not accepted
        "IRR_EXTRAC": "IRR_TYPE_F",      // archive cannot be extracted: not a usable tar.gz
        "IRR_FORM": "IRR_NOM_F",         // envelope name malformed
        "IRR_UNCITE": "IRR_NOM_F",       // flux name/id already received
        "IRR_CODE_INTER": "IRR_NOM_F",   // unknown interface code (part of the name)
        "IRR_CODE_APP": "IRR_NOM_F",     // no connection for the application code (in the name)
    ]
    /// BR-FR-CDV-CL-09_MDT-113_213.
    static let allowed213: Set<String> = [
        "MONTANTTOTAL_ERR", "CALCUL_ERR", "DOUBLON", "DEST_INC", "ADR_ERR", "REJ_SEMAN", "REJ_UNI",
        "REJ_COH", "REJ_ADR", "REJ_CONT_B2G", "REJ_REF_PJ", "REJ_ASS_PJ",
    ]
    /// BR-FR-CDV-CL-09_MDT-113 (every status).
    static let allowedAny: Set<String> = Set((
        "RETRAIT_MAN_SERV ST_CT_NON_DECLAR SUPPR_COMP_AVOIR TRANSF_PMNT_REGIE CONTACT_ACHTR " +
        "NON_TRANSMISE JUSTIF_ABS ROUTAGE_ERR AUTRE COORD_BANC_ERR TX_TVA_ERR MONTANTTOTAL_ERR " +
        "CALCUL_ERR NON_CONFORME DOUBLON DEST_INC DEST_ERR TRANSAC_INC EMMET_INC CONTRAT_TERM " +
        "DOUBLE_FACT CMD_ERR ADR_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR PU_ERR " +
        "REM_ERR QTE_ERR ART_ERR MODPAI_ERR QUALITE_ERR LIVR_INCOMP REJ_SEMAN REJ_UNI REJ_COH " +
        "REJ_ADR REJ_CONT_B2G REJ_REF_PJ REJ_ASS_PJ IRR_VIDE_F IRR_TYPE_F IRR_SYNTAX IRR_TAILLE_PJ " +
        "IRR_NOM_PJ IRR_VID_PJ IRR_EXT_DOC IRR_TAILLE_F IRR_ANTIVIRUS IRR_NOM_F"
    ).split(separator: " ").map(String.init))
    /// BR-FR-04 (invoice type codes accepted in MDT-91).
    static let documentTypeCodes: Set<String> = [
        "380", "389", "393", "501", "386", "500", "384", "471", "472", "473", "261", "262", "381",
        "396", "502", "503",
    ]
    /// BR-FR-CDV-CL-04 (recipient roles).
    static let recipientRoles: Set<String> = ["BY", "AB", "DL", "SE", "SR", "PE", "PR", "II", "IV", "WK", "DFH"]

    static let guideline = "urn.cpro.gouv.fr:1p0:CDV:invoice"
    static let fluxReferenceType = "urn.cpro.gouv.fr:1p0:CDV:flux"
    static let invoiceReferenceType = "urn.cpro.gouv.fr:1p0:CDV:einvoicingF2"

    // MARK: - Documents

    static func fluxDocument(_ r: CDARReceipt) -> Data {
        let status = r.fluxAccepted ? "500" : "501"
        let label = r.fluxAccepted ? "Recevable" : "Irrecevable"
        var x = CDARXMLWriter()
        header(&x, r, id: r.messageID, name: label)
        ackOpen(&x, r)
        x.open("ram:ReferenceReferencedDocument")
        x.leaf("ram:IssuerAssignedID", r.fluxName)
        // No StatusCode (UNCL 1373): no source pairs 500/501 with a document status, and it is optional.
        dateTime(&x, "ram:ReceiptDateTime", r.received)
        x.leaf("ram:ReferenceTypeCode", fluxReferenceType)
        // Mandatory for 500 (CDV-11); the flux's own date is its reception date. Kept for 501 too.
        formattedDate(&x, day(r.received))
        x.leaf("ram:ProcessConditionCode", status)
        x.leaf("ram:ProcessCondition", label)
        var reasons = statuses(r.fluxReasons, status: status)
        if reasons.isEmpty && !r.fluxAccepted {
            reasons = [(code: "IRR_SYNTAX", text: "Flux irrecevable")]
        }
        statusBlocks(&x, reasons)
        x.close("ram:ReferenceReferencedDocument")
        x.close("rsm:AcknowledgementDocument")
        x.close("rsm:CrossDomainAcknowledgementAndResponse")
        return x.data
    }

    static func invoiceDocument(_ r: CDARReceipt, _ inv: CDARInvoiceStatus, suffix: String) -> Data {
        let status = inv.accepted ? "200" : "213"
        let label = inv.accepted ? "Déposée" : "Rejetée"
        var x = CDARXMLWriter()
        header(&x, r, id: r.messageID + suffix, name: label)
        ackOpen(&x, r)
        x.open("ram:ReferenceReferencedDocument")
        let number = nonEmpty(inv.invoiceNumber) ?? nonEmpty(inv.fileName) ?? (r.fluxName + "#" + suffix.dropFirst())
        x.leaf("ram:IssuerAssignedID", number)
        x.leaf("ram:StatusCode", inv.accepted ? "10" : "8")   // as in the corpus: 200 → 10, 213 → 8 (CL-05)
        if let type = nonEmpty(inv.typeCode), documentTypeCodes.contains(type) {
            x.leaf("ram:TypeCode", type)
        }
        dateTime(&x, "ram:ReceiptDateTime", r.received)
        x.leaf("ram:ReferenceTypeCode", invoiceReferenceType)
        formattedDate(&x, normalizedDate(inv.issueDate) ?? day(r.received))
        x.leaf("ram:ProcessConditionCode", status)
        x.leaf("ram:ProcessCondition", label)
        if let seller = nonEmpty(inv.sellerSIREN) {
            x.open("ram:IssuerTradeParty")
            x.leaf("ram:GlobalID", seller, attributes: [("schemeID", "0002")])
            x.close("ram:IssuerTradeParty")
        }
        var reasons = statuses(inv.reasons, status: status)
        if reasons.isEmpty && !inv.accepted {
            reasons = [(code: "REJ_SEMAN", text: "Facture rejetée")]
        }
        statusBlocks(&x, reasons)
        x.close("ram:ReferenceReferencedDocument")
        x.close("rsm:AcknowledgementDocument")
        x.close("rsm:CrossDomainAcknowledgementAndResponse")
        return x.data
    }

    static func header(_ x: inout CDARXMLWriter, _ r: CDARReceipt, id: String, name: String) {
        x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        x.open("rsm:CrossDomainAcknowledgementAndResponse", attributes: [
            ("xmlns:rsm", "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100"),
            ("xmlns:ram", "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"),
            ("xmlns:qdt", "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"),
            ("xmlns:udt", "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"),
        ])
        x.open("rsm:ExchangedDocumentContext")
        x.open("ram:BusinessProcessSpecifiedDocumentContextParameter")
        x.leaf("ram:ID", r.businessProcess)
        x.close("ram:BusinessProcessSpecifiedDocumentContextParameter")
        x.open("ram:GuidelineSpecifiedDocumentContextParameter")
        x.leaf("ram:ID", guideline)
        x.close("ram:GuidelineSpecifiedDocumentContextParameter")
        x.close("rsm:ExchangedDocumentContext")

        x.open("rsm:ExchangedDocument")
        x.leaf("ram:ID", id)
        x.leaf("ram:Name", name)
        dateTime(&x, "ram:IssueDateTime", r.issued)
        x.open("ram:SenderTradeParty")
        if let matricule = nonEmpty(r.sender.platformID) {
            x.leaf("ram:GlobalID", matricule, attributes: [("schemeID", "0238")])
        }
        if let siren = nonEmpty(r.sender.siren) {
            x.leaf("ram:GlobalID", siren, attributes: [("schemeID", "0002")])
        }
        if let name = nonEmpty(r.sender.name) { x.leaf("ram:Name", name) }
        x.leaf("ram:RoleCode", "WK")
        x.close("ram:SenderTradeParty")
        x.open("ram:IssuerTradeParty")
        x.leaf("ram:RoleCode", "WK")
        x.close("ram:IssuerTradeParty")
        let p = r.recipient
        let role = recipientRoles.contains(p.roleCode) ? p.roleCode : "SE"
        x.open("ram:RecipientTradeParty")
        if let siren = nonEmpty(p.siren) {
            x.leaf("ram:GlobalID", siren, attributes: [("schemeID", "0002")])
        }
        if let name = nonEmpty(p.name) { x.leaf("ram:Name", name) }
        x.leaf("ram:RoleCode", role)
        if let address = nonEmpty(p.electronicAddress) ?? nonEmpty(p.siren) {
            x.open("ram:URIUniversalCommunication")
            x.leaf("ram:URIID", address, attributes: [("schemeID", p.electronicAddressScheme)])
            x.close("ram:URIUniversalCommunication")
        }
        x.close("ram:RecipientTradeParty")
        x.close("rsm:ExchangedDocument")
    }

    static func ackOpen(_ x: inout CDARXMLWriter, _ r: CDARReceipt) {
        x.open("rsm:AcknowledgementDocument")
        x.open("ram:MultipleReferencesIndicator")
        x.leaf("udt:Indicator", "false")
        x.close("ram:MultipleReferencesIndicator")
        x.leaf("ram:TypeCode", "305")   // transmission phase (MDT-77)
        dateTime(&x, "ram:IssueDateTime", r.issued)
    }

    static func statuses(_ reasons: [CDARReason], status: String) -> [(code: String, text: String)] {
        reasons.compactMap { reason in
            let original = reason.code.trimmedWhitespace
            guard let code = emittedReasonCode(original, status: status) else { return nil }
            if code == original || original.isEmpty { return (code, reason.text) }
            return (code, reason.text.isEmpty ? original : original + ": " + reason.text)
        }
    }

    static func statusBlocks(_ x: inout CDARXMLWriter, _ reasons: [(code: String, text: String)]) {
        for (i, reason) in reasons.enumerated() {
            x.open("ram:SpecifiedDocumentStatus")
            x.leaf("ram:ReasonCode", reason.code)
            if let text = nonEmpty(reason.text) { x.leaf("ram:Reason", text) }
            x.leaf("ram:SequenceNumeric", String(i + 1))
            x.close("ram:SpecifiedDocumentStatus")
        }
    }

    static func dateTime(_ x: inout CDARXMLWriter, _ element: StaticString, _ date: Date) {
        x.open(element)
        x.leaf("udt:DateTimeString", format204(date), attributes: [("format", "204")])
        x.close(element)
    }

    static func formattedDate(_ x: inout CDARXMLWriter, _ yyyymmdd: String) {
        x.open("ram:FormattedIssueDateTime")
        x.leaf("qdt:DateTimeString", yyyymmdd, attributes: [("format", "102")])
        x.close("ram:FormattedIssueDateTime")
    }

    // MARK: - Values

    static func nonEmpty(_ s: String?) -> String? {
        guard let t = s?.trimmedWhitespace, !t.isEmpty else { return nil }
        return t
    }

    /// YYYYMMDD (or YYYY-MM-DD) when it is a real calendar date, else nil.
    static func normalizedDate(_ s: String?) -> String? {
        guard var t = nonEmpty(s) else { return nil }
        if t.count == 10, t.dropFirst(4).first == "-", t.dropFirst(7).first == "-" { t.removeAll { $0 == "-" } }
        guard t.count == 8, t.allSatisfy({ $0.isASCII && $0.isNumber }),
              let y = Int(t.prefix(4)), let m = Int(t.dropFirst(4).prefix(2)), let d = Int(t.suffix(2)),
              y >= 1000, (1...12).contains(m), d >= 1 else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return d <= days ? t : nil
    }

    /// UTC civil date and time of `date` (proleptic Gregorian; H. Hinnant's days → civil algorithm,
    /// so no Calendar/locale is involved and the result is the same everywhere).
    static func civil(_ date: Date) -> (y: Int, m: Int, d: Int, hh: Int, mm: Int, ss: Int) {
        // Clamped to years 0001…9999 so that no Date (even ±infinity or NaN) can trap.
        let raw = date.timeIntervalSince1970
        let t = raw.isNaN ? 0 : Int(min(max(raw, -62_135_596_800), 253_402_300_799).rounded(.down))
        let days = t >= 0 ? t / 86_400 : -((-t + 86_399) / 86_400)
        let secs = t - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
    }

    /// YYYYMMDDHHMMSS in UTC (UN/CEFACT format 204).
    static func format204(_ date: Date) -> String {
        let c = civil(date)
        return pad(c.y, 4) + pad(c.m, 2) + pad(c.d, 2) + pad(c.hh, 2) + pad(c.mm, 2) + pad(c.ss, 2)
    }

    /// YYYYMMDD in UTC (format 102).
    static func day(_ date: Date) -> String {
        let c = civil(date)
        return pad(c.y, 4) + pad(c.m, 2) + pad(c.d, 2)
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

/// A tiny indenting XML writer into UTF-8 bytes; every value goes through `escape`. Bytes,
/// not String concatenation: building the receipts as strings was 5.7% of the intake's CPU (perf,
/// stop 19), nearly all of it temporary strings.
struct CDARXMLWriter {
    private(set) var bytes: [UInt8] = []
    private var depth = 0

    init() { bytes.reserveCapacity(4096) }

    var data: Data { Data(bytes) }

    mutating func raw(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }

    mutating func open(_ name: StaticString, attributes: [(StaticString, String)] = []) {
        indent()
        bytes.append(UInt8(ascii: "<")); raw(name); appendAttributes(attributes); bytes.append(UInt8(ascii: ">"))
        bytes.append(UInt8(ascii: "\n"))
        depth += 1
    }

    mutating func close(_ name: StaticString) {
        depth -= 1
        indent()
        bytes.append(UInt8(ascii: "<")); bytes.append(UInt8(ascii: "/")); raw(name); bytes.append(UInt8(ascii: ">"))
        bytes.append(UInt8(ascii: "\n"))
    }

    mutating func leaf(_ name: StaticString, _ value: String, attributes: [(StaticString, String)] = []) {
        indent()
        bytes.append(UInt8(ascii: "<")); raw(name); appendAttributes(attributes); bytes.append(UInt8(ascii: ">"))
        appendEscaped(value, attribute: false)
        bytes.append(UInt8(ascii: "<")); bytes.append(UInt8(ascii: "/")); raw(name); bytes.append(UInt8(ascii: ">"))
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func indent() {
        for _ in 0..<(2 * depth) { bytes.append(UInt8(ascii: " ")) }
    }

    private mutating func appendAttributes(_ attrs: [(StaticString, String)]) {
        for (name, value) in attrs {
            bytes.append(UInt8(ascii: " ")); raw(name); bytes.append(UInt8(ascii: "=")); bytes.append(UInt8(ascii: "\""))
            appendEscaped(value, attribute: true)
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// The value as is when it holds nothing to escape (nearly always); `escape` otherwise.
    private mutating func appendEscaped(_ s: String, attribute: Bool) {
        var clean = true
        var previous: (UInt8, UInt8) = (0, 0)
        for b in s.utf8 {
            // Markup, every C0 control (tab/LF/CR included: escaped in attributes, CR always),
            // and U+FFFE/U+FFFF (EF BF BE/BF).
            if b < 0x20 || b == UInt8(ascii: "&") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"")
                || (previous == (0xEF, 0xBF) && (b == 0xBE || b == 0xBF)) {
                clean = false
                break
            }
            previous = (previous.1, b)
        }
        if clean { bytes.append(contentsOf: s.utf8) } else { bytes.append(contentsOf: Self.escape(s, attribute: attribute).utf8) }
    }

    /// Escapes markup characters and replaces characters XML 1.0 cannot carry (C0 controls other
    /// than tab/LF/CR, U+FFFE, U+FFFF) with U+FFFD; CR is written as a character reference so a
    /// parser does not fold it into LF.
    static func escape(_ s: String, attribute: Bool = false) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            case "\r": out += "&#13;"
            case "\t" where attribute: out += "&#9;"
            case "\n" where attribute: out += "&#10;"
            case "\t", "\n": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
