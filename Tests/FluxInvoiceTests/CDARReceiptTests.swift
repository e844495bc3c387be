import Foundation
import FluxInvoice
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Unit tests of the CDAR receipt builder. The XSD + FNFE CDV Schematron verdict on real receipts
/// is the integration test's job (scripts/oracle/cdar_check.py); here we check content.
@Suite("CDAR receipt builder")
struct CDARReceiptTests {
    static let issued = Date(timeIntervalSince1970: 1_789_464_660)    // 2026-09-15 09:31:00 UTC
    static let received = Date(timeIntervalSince1970: 1_789_464_600)  // 2026-09-15 09:30:00 UTC
    static let gateway = CDARParty(siren: nil, name: "Flux Gateway", roleCode: "WK", platformID: "AAA123")
    static let seller = CDARParty(siren: "100000009", name: "VENDEUR EXEMPLE SAS", roleCode: "SE")

    static func receipt(accepted: Bool, reasons: [CDARReason] = [], invoices: [CDARInvoiceStatus] = [],
                        recipient: CDARParty = seller, fluxName: String = "FFE0112A_AAA123_AAA1230112000000000000001.tar.gz") -> CDARReceipt {
        CDARReceipt(messageID: "RCPT-42", issued: issued, received: received, fluxName: fluxName,
                    sender: gateway, recipient: recipient, fluxAccepted: accepted,
                    fluxReasons: reasons, invoices: invoices)
    }

    /// Parses one document (must be well-formed) and reads values by local name.
    struct Parsed {
        let doc: XMLDocument
        init(_ document: CDARDocument) throws {
            doc = try XMLDocument(data: document.xml, options: [])
        }
        func all(_ localName: String) throws -> [String] {
            try doc.nodes(forXPath: "//*[local-name()='\(localName)']").map { $0.stringValue ?? "" }
        }
        func one(_ localName: String) throws -> String? {
            try all(localName).first
        }
        func at(_ xpath: String) throws -> [String] {
            try doc.nodes(forXPath: xpath).map { $0.stringValue ?? "" }
        }
    }

    @Test("accepted flux with two invoices: one flux document then one per invoice")
    func acceptedFlux() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: true, invoices: [
            CDARInvoiceStatus(invoiceNumber: "FA-1", issueDate: "20260915", typeCode: "380", sellerSIREN: "100000009", accepted: true, reasons: []),
            CDARInvoiceStatus(invoiceNumber: "FA-2", issueDate: "2026-09-14", typeCode: "381", sellerSIREN: "100000009", accepted: true, reasons: []),
        ]))
        #expect(docs.map(\.suffix) == ["", "-001", "-002"])

        let flux = try Parsed(docs[0])
        #expect(try flux.one("ProcessConditionCode") == "500")
        #expect(try flux.one("ProcessCondition") == "Recevable")
        #expect(try flux.at("//*[local-name()='ExchangedDocument']/*[local-name()='ID']") == ["RCPT-42"])
        #expect(try flux.one("IssuerAssignedID") == "FFE0112A_AAA123_AAA1230112000000000000001.tar.gz")
        #expect(try flux.one("ReferenceTypeCode") == "urn.cpro.gouv.fr:1p0:CDV:flux")
        #expect(try flux.all("SpecifiedDocumentStatus").isEmpty)
        #expect(try flux.at("//*[local-name()='AcknowledgementDocument']/*[local-name()='TypeCode']") == ["305"])
        #expect(try flux.at("//*[local-name()='SenderTradeParty']/*[local-name()='RoleCode']") == ["WK"])
        #expect(try flux.at("//*[local-name()='SenderTradeParty']/*[local-name()='GlobalID'][@schemeID='0238']") == ["AAA123"])
        #expect(try flux.at("//*[local-name()='RecipientTradeParty']/*[local-name()='GlobalID'][@schemeID='0002']") == ["100000009"])
        #expect(try flux.at("//*[local-name()='URIID'][@schemeID='0225']") == ["100000009"])

        let first = try Parsed(docs[1])
        #expect(try first.at("//*[local-name()='ExchangedDocument']/*[local-name()='ID']") == ["RCPT-42-001"])
        #expect(try first.one("IssuerAssignedID") == "FA-1")
        #expect(try first.one("ProcessConditionCode") == "200")
        #expect(try first.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='StatusCode']") == ["10"])
        #expect(try first.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='TypeCode']") == ["380"])
        #expect(try first.one("ReferenceTypeCode") == "urn.cpro.gouv.fr:1p0:CDV:einvoicingF2")
        #expect(try first.at("//*[local-name()='IssuerTradeParty']/*[local-name()='GlobalID'][@schemeID='0002']") == ["100000009"])
        #expect(try first.all("SpecifiedDocumentStatus").isEmpty)

        let second = try Parsed(docs[2])
        #expect(try second.at("//*[local-name()='FormattedIssueDateTime']/*[@format='102']") == ["20260914"])
    }

    @Test("dates are UTC, format 204 (and 102 for the referenced document)")
    func dates() throws {
        let flux = try Parsed(CDARReceiptBuilder.build(Self.receipt(accepted: true))[0])
        #expect(try flux.at("//*[local-name()='ExchangedDocument']/*[local-name()='IssueDateTime']/*[@format='204']") == ["20260915093100"])
        #expect(try flux.at("//*[local-name()='ReceiptDateTime']/*[@format='204']") == ["20260915093000"])
        #expect(try flux.at("//*[local-name()='FormattedIssueDateTime']/*[@format='102']") == ["20260915"])
    }

    @Test("mixed 200 / 213 with reasons DOUBLON and REJ_SEMAN")
    func mixed() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: true, invoices: [
            CDARInvoiceStatus(invoiceNumber: "FA-1", issueDate: "20260915", typeCode: "380", sellerSIREN: "100000009", accepted: true, reasons: []),
            CDARInvoiceStatus(invoiceNumber: "FA-2", issueDate: "20260915", typeCode: "380", sellerSIREN: "100000009", accepted: false, reasons: [
                CDARReason(code: "DOUBLON", text: "déjà déposée"),
                CDARReason(code: "REJ_SEMAN", text: "BR-FR-10"),
            ]),
        ]))
        #expect(docs.count == 3)
        #expect(try Parsed(docs[0]).one("ProcessConditionCode") == "500")
        #expect(try Parsed(docs[1]).one("ProcessConditionCode") == "200")
        let rejected = try Parsed(docs[2])
        #expect(try rejected.one("ProcessConditionCode") == "213")
        #expect(try rejected.one("ProcessCondition") == "Rejetée")
        #expect(try rejected.at("//*[local-name()='ExchangedDocument']/*[local-name()='Name']") == ["Rejetée"])
        #expect(try rejected.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='StatusCode']") == ["8"])
        #expect(try rejected.all("ReasonCode") == ["DOUBLON", "REJ_SEMAN"])
        #expect(try rejected.all("Reason") == ["déjà déposée", "BR-FR-10"])
        #expect(try rejected.all("SequenceNumeric") == ["1", "2"])
    }

    @Test("501 without any readable invoice: the flux name is the reference, no invoice document")
    func irrecevableWithoutInvoice() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(
            accepted: false, reasons: [CDARReason(code: "IRR_SYNTAX", text: "XML mal formé ligne 5")],
            invoices: [CDARInvoiceStatus(invoiceNumber: "IGNORED", accepted: true)], fluxName: "facture.xml"))
        #expect(docs.map(\.suffix) == [""])
        let flux = try Parsed(docs[0])
        #expect(try flux.all("IssuerAssignedID") == ["facture.xml"])
        #expect(try flux.one("ProcessConditionCode") == "501")
        #expect(try flux.one("ProcessCondition") == "Irrecevable")
        #expect(try flux.all("ReasonCode") == ["IRR_SYNTAX"])
        #expect(try flux.all("Reason") == ["XML mal formé ligne 5"])
        #expect(try flux.all("IssuerTradeParty").count == 1)   // only ExchangedDocument's (role WK)
        #expect(try flux.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='TypeCode']").isEmpty)
    }

    @Test("DSE flux-level codes the CDV list refuses are mapped, the original code kept in the text")
    func irrecevableMapping() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: false, reasons: [
            CDARReason(code: "IRR_VIDE", text: "archive vide"),
            CDARReason(code: "IRR_EXTRAC", text: ""),
            CDARReason(code: "IRR_TAILLE_F", text: "x.xml > 120 Mo"),
        ]))
        let flux = try Parsed(docs[0])
        #expect(try flux.all("ReasonCode") == ["IRR_VIDE_F", "IRR_TYPE_F", "IRR_TAILLE_F"])
        #expect(try flux.all("Reason") == ["IRR_VIDE: archive vide", "IRR_EXTRAC", "x.xml > 120 Mo"])
    }

    @Test("reason code lists per status (BR-FR-CDV-CL-09)", arguments: [
        ("IRR_VIDE", "501", "IRR_VIDE_F"), ("IRR_TAILLE", "501", "IRR_TAILLE_F"), ("IRR_EXTRAC", "501", "IRR_TYPE_F"),
        ("IRR_FORM", "501", "IRR_NOM_F"), ("IRR_SYNTAX", "501", "IRR_SYNTAX"), ("IRR_ANTIVIRUS", "501", "IRR_ANTIVIRUS"),
        ("WHATEVER", "501", "IRR_SYNTAX"), ("DOUBLON", "213", "DOUBLON"), ("REJ_UNI", "213", "REJ_UNI"),
        ("REJ_PER", "213", "REJ_SEMAN"), ("IRR_SYNTAX", "213", "REJ_SEMAN"), ("NON_TRANSMISE", "200", "NON_TRANSMISE"),
    ])
    func reasonCodes(code: String, status: String, expected: String) {
        #expect(CDARReceiptBuilder.emittedReasonCode(code, status: status) == expected)
    }

    @Test("reasons a status cannot carry are dropped (200 only accepts NON_TRANSMISE)")
    func droppedReasons() {
        #expect(CDARReceiptBuilder.emittedReasonCode("REJ_SEMAN", status: "200") == nil)
        #expect(CDARReceiptBuilder.emittedReasonCode("IRR_VIDE", status: "500") == nil)
        #expect(CDARReceiptBuilder.emittedReasonCode("IRR_VIDE_F", status: "500") == "IRR_VIDE_F")
    }

    @Test("missing reasons get a default one (a reason is mandatory for 213 and 501)")
    func defaultReasons() throws {
        let refused = try Parsed(CDARReceiptBuilder.build(Self.receipt(accepted: false))[0])
        #expect(try refused.all("ReasonCode") == ["IRR_SYNTAX"])
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: true, invoices: [CDARInvoiceStatus(accepted: false)]))
        #expect(try Parsed(docs[1]).all("ReasonCode") == ["REJ_SEMAN"])
    }

    @Test("unreadable invoice: file name as reference, reception date as issue date, no type or seller")
    func unreadableInvoice() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: true, invoices: [
            CDARInvoiceStatus(invoiceNumber: nil, issueDate: "20260230", typeCode: "999", sellerSIREN: nil,
                              accepted: false, reasons: [CDARReason(code: "REJ_SEMAN", text: "BT-1 absent")], fileName: "lot/f1.xml"),
            CDARInvoiceStatus(accepted: false),
        ], fluxName: "depot.tar.gz"))
        let first = try Parsed(docs[1])
        #expect(try first.one("IssuerAssignedID") == "lot/f1.xml")
        #expect(try first.at("//*[local-name()='FormattedIssueDateTime']/*[@format='102']") == ["20260915"])
        #expect(try first.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='TypeCode']").isEmpty)
        #expect(try first.at("//*[local-name()='ReferenceReferencedDocument']/*[local-name()='IssuerTradeParty']").isEmpty)
        #expect(try Parsed(docs[2]).one("IssuerAssignedID") == "depot.tar.gz#002")
    }

    @Test("names, numbers and texts are XML-escaped and round-trip")
    func escaping() throws {
        let name = "Dupont & Fils <Négoce> \"Élan\" 'ü' ]]>"
        let number = "F&<1>\"'é/2026"
        let text = "total <b>&amp;</b> ≠ 1 326,60 €\nligne 2"
        let docs = CDARReceiptBuilder.build(Self.receipt(
            accepted: true,
            invoices: [CDARInvoiceStatus(invoiceNumber: number, issueDate: "20260915", typeCode: "380", sellerSIREN: "100000009",
                                         accepted: false, reasons: [CDARReason(code: "REJ_SEMAN", text: text)])],
            recipient: CDARParty(siren: "100000009", name: name, roleCode: "SE"),
            fluxName: "dépôt <&>.xml"))
        let flux = try Parsed(docs[0])
        #expect(try flux.at("//*[local-name()='RecipientTradeParty']/*[local-name()='Name']") == [name])
        #expect(try flux.one("IssuerAssignedID") == "dépôt <&>.xml")
        let invoice = try Parsed(docs[1])
        #expect(try invoice.one("IssuerAssignedID") == number)
        #expect(try invoice.all("Reason") == [text])
        let raw = String(decoding: docs[1].xml, as: UTF8.self)
        #expect(raw.contains("F&amp;&lt;1&gt;"))
        #expect(!raw.contains("<b>"))
    }

    @Test("characters XML 1.0 cannot carry are replaced, the output stays well-formed UTF-8")
    func controlCharacters() throws {
        let docs = CDARReceiptBuilder.build(Self.receipt(accepted: false, reasons: [
            CDARReason(code: "IRR_SYNTAX", text: "nul\u{0}bell\u{7}ok\u{FFFF}"),
        ]))
        let flux = try Parsed(docs[0])
        #expect(try flux.all("Reason") == ["nul\u{FFFD}bell\u{FFFD}ok\u{FFFD}"])
        #expect(String(data: docs[0].xml, encoding: .utf8) != nil)
        #expect(docs[0].xml.starts(with: Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>".utf8)))
    }

    @Test("recipient without SIREN uses its electronic address; invalid role falls back to SE")
    func recipientAddress() throws {
        let partner = CDARParty(siren: nil, name: "Partner", roleCode: "??", electronicAddress: "partner-01", electronicAddressScheme: "0225")
        let flux = try Parsed(CDARReceiptBuilder.build(Self.receipt(accepted: true, recipient: partner))[0])
        #expect(try flux.at("//*[local-name()='RecipientTradeParty']/*[local-name()='GlobalID']").isEmpty)
        #expect(try flux.at("//*[local-name()='RecipientTradeParty']/*[local-name()='RoleCode']") == ["SE"])
        #expect(try flux.at("//*[local-name()='URIID'][@schemeID='0225']") == ["partner-01"])
    }

    @Test("same input, same bytes")
    func determinism() {
        let make = {
            Self.receipt(accepted: true, invoices: (1...20).map {
                CDARInvoiceStatus(invoiceNumber: "FA-\($0)", issueDate: "20260915", typeCode: "380", sellerSIREN: "100000009",
                                  accepted: $0 % 3 != 0, reasons: $0 % 3 == 0 ? [CDARReason(code: "REJ_COH", text: "n° \($0)")] : [])
            })
        }
        let a = CDARReceiptBuilder.build(make())
        let b = CDARReceiptBuilder.build(make())
        #expect(a == b)
        #expect(a.count == 21)
        #expect(a.map(\.suffix).last == "-020")
        #expect(Set(a.map(\.suffix)).count == a.count)
    }
}

extension CDARReceiptTests {
    /// Receipts partners already hold must not change under a refactoring of the writer: the
    /// length and FNV-1a digest of every document of a receipt that exercises each branch
    /// (escapes, controls, U+FFFF, attributes, mixed statuses), taken from the string-based writer
    /// of stop 18.
    @Test("the bytes of a known receipt are unchanged (golden digests)")
    func goldenBytes() {
        let tricky = "Dupont & Fils <Négoce> \"Élan\"\ttab\r\ncr ]]> \u{0}\u{FFFF}\u{FFFE}\u{EFBF} ok"
        let docs = CDARReceiptBuilder.build(Self.receipt(
            accepted: true,
            invoices: [
                CDARInvoiceStatus(invoiceNumber: "F&<1>\"'é/2026", issueDate: "2026-09-15", typeCode: "380", sellerSIREN: "100000009",
                                  accepted: false, reasons: [CDARReason(code: "REJ_SEMAN", text: tricky)]),
                CDARInvoiceStatus(invoiceNumber: "FA-2", issueDate: "20260915", typeCode: "381", sellerSIREN: "100000009",
                                  accepted: true, reasons: []),
            ],
            recipient: CDARParty(siren: "100000009", name: tricky, roleCode: "SE", electronicAddress: "a\"b&c\td", electronicAddressScheme: "0225"),
            fluxName: "dépôt <&>\t.xml"))
        let digests = docs.map { doc -> String in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in doc.xml { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            return "\(doc.xml.count):" + String(h, radix: 16)
        }
        #expect(digests == ["2746:b19d1e0aa1cdbb8e", "3243:9edacf9bd50ef646", "2939:2ea192468eecc5d7"])
    }
}
