import Foundation
import Testing

@testable import FluxInvoice

/// Base64 attachments reach libxml2 as a stand-in (`XMLDoc.parse`): what is skipped, what is
/// not, and that nothing a schema, a rule or an error line can tell changes.
@Suite("XMLDoc: skipped attachments")
struct AttachmentElisionTests {
    static let xsd = XSDValidator(directory: Corpus.path("schemas"))

    /// `payload` as the content of an attachment, inserted into the French UBL or CII sample;
    /// `after` goes right after the attachment's reference, `tail` before the root's end tag.
    static func invoice(_ syntax: InvoiceSyntax, payload: String, attributes: String = #"mimeCode="application/pdf" filename="a.pdf""#,
                        after: String = "", tail: String = "") throws -> Data {
        var text = String(decoding: try Corpus.data(syntax == .cii ? Corpus.frCII : Corpus.frUBL), as: UTF8.self)
        if syntax == .cii {
            let reference = "<ram:AdditionalReferencedDocument><ram:IssuerAssignedID>ATT-1</ram:IssuerAssignedID><ram:TypeCode>916</ram:TypeCode>"
                + "<ram:AttachmentBinaryObject \(attributes)>\(payload)</ram:AttachmentBinaryObject></ram:AdditionalReferencedDocument>" + after
            let at = try #require(text.range(of: "</ram:ApplicableHeaderTradeAgreement>"))
            text.insert(contentsOf: reference, at: at.lowerBound)
            let end = try #require(text.range(of: "</rsm:CrossIndustryInvoice>", options: .backwards))
            text.insert(contentsOf: tail, at: end.lowerBound)
        } else {
            let reference = "<cac:AdditionalDocumentReference><cbc:ID>ATT-1</cbc:ID><cac:Attachment>"
                + "<cbc:EmbeddedDocumentBinaryObject \(attributes)>\(payload)</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>" + after
            let at = try #require(text.range(of: "<cac:AccountingSupplierParty>"))
            text.insert(contentsOf: reference, at: at.lowerBound)
            let end = try #require(text.range(of: "</Invoice>", options: .backwards))
            text.insert(contentsOf: tail, at: end.lowerBound)
        }
        return Data(text.utf8)
    }

    /// What the schema, the rules and the model make of `data`, parsed with or without skipping.
    static func verdict(_ data: Data, syntax: InvoiceSyntax, elide: Bool) throws -> (xsd: [String], rules: [String], facts: InvoiceFacts) {
        let doc = try XMLDoc.parse(data, name: "t.xml", elideAttachments: elide)
        let run = RuleRunner.run(doc, syntax: syntax)
        return (xsd.validate(doc, syntax: syntax).map(\.message), run.errors.map { "\($0.rule) \($0.message)" }, InvoiceFacts(model: run.model))
    }

    /// Checks that skipping changes nothing on `data`, and returns how many runs were skipped.
    @discardableResult
    static func same(_ data: Data, _ syntax: InvoiceSyntax) throws -> Int {
        let skipped = try verdict(data, syntax: syntax, elide: true)
        let parsed = try verdict(data, syntax: syntax, elide: false)
        #expect(skipped.xsd == parsed.xsd)
        #expect(skipped.rules == parsed.rules)
        #expect(skipped.facts == parsed.facts)
        return XMLDoc.attachmentRuns(in: data).count
    }

    static let abc = String(repeating: "QUJD", count: 1500)  // "ABC" × 1500, 6,000 characters

    @Test("valid base64 attachments are skipped, with the same verdicts, facts and error lines", arguments: [InvoiceSyntax.ublInvoice, .cii])
    func validSkipped(syntax: InvoiceSyntax) throws {
        let baseline = try Self.verdict(try Self.invoice(syntax, payload: "QUJD"), syntax: syntax, elide: false)
        let lf = stride(from: 0, to: Self.abc.count, by: 76).map { Self.abc.dropFirst($0).prefix(76) }.joined(separator: "\n")
        let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
        for payload in [Self.abc, Self.abc + "QUI=", Self.abc + "QQ==", "\n" + lf + "\n", crlf + "\r\n  ", Self.abc + "Q Q = ="] {
            let data = try Self.invoice(syntax, payload: payload)
            #expect(try Self.same(data, syntax) == 1)
            // A valid attachment is valid: the schema says what it says without one.
            #expect(try Self.verdict(data, syntax: syntax, elide: true).xsd == baseline.xsd)
            let run = try #require(XMLDoc.attachmentRuns(in: data).first)
            #expect(run.lines == payload.filter { $0 == "\n" || $0 == "\r\n" }.count)
        }
        // An error after a skipped run of many lines is reported on the same line.
        let late = try Self.invoice(syntax, payload: lf, tail: "<Unexpected/>")
        let errors = try Self.verdict(late, syntax: syntax, elide: true).xsd
        #expect(errors.contains { $0.contains("line ") && $0.contains("Unexpected") })
        #expect(try Self.same(late, syntax) == 1)
        // Quotes in the start tag may hold '>'; a comment around a run changes nothing either.
        #expect(try Self.same(try Self.invoice(syntax, payload: Self.abc, attributes: #"mimeCode="application/pdf" filename="a>b.pdf""#), syntax) == 1)
        let prefix = syntax == .cii ? "ram:AttachmentBinaryObject" : "cbc:EmbeddedDocumentBinaryObject"
        #expect(try Self.same(try Self.invoice(syntax, payload: "QUJD", after: "<!-- <\(prefix)>\(Self.abc)</\(prefix)> -->"), syntax) == 1)
        // Several attachments, each skipped.
        #expect(try Self.same(try Self.invoice(syntax, payload: Self.abc, after: "<!-- <\(prefix) x='1'>\(Self.abc)</\(prefix)> -->"), syntax) == 2)
    }

    @Test("anything not strictly base64, or not an attachment's whole content, is parsed as it is", arguments: [InvoiceSyntax.ublInvoice, .cii])
    func othersParsed(syntax: InvoiceSyntax) throws {
        let invalid = [
            Self.abc + "QUJ=",  // unused bits set
            Self.abc + "QA==Q",  // data after the padding
            Self.abc + "QUJDQ",  // not a multiple of four
            Self.abc + "=",  // a lone '=' after a full quantum
            Self.abc + "&#65;AAA",  // a reference (libxml2 decodes it first)
            Self.abc + "\rQUJD",  // a lone CR: libxml2 counts its lines its own way
            Self.abc + "<!-- c -->QUJD",  // mixed content
            String(Self.abc.prefix(4000)),  // too short to be worth it
            Self.abc + "\u{e9}",  // not ASCII
        ]
        for payload in invalid {
            let data = try Self.invoice(syntax, payload: payload)
            #expect(XMLDoc.attachmentRuns(in: data).isEmpty, "\(payload.suffix(12))")
            try Self.same(data, syntax)
        }
        // Broken base64 is still found by the schema, and its error does not quote the whole value.
        let broken = try Self.verdict(try Self.invoice(syntax, payload: Self.abc + "QUJ="), syntax: syntax, elide: true).xsd
        #expect(!broken.isEmpty)
        for line in broken {
            #expect(line.utf8.count < 600, "\(line.prefix(300))")
            #expect(line.contains("\(Self.abc.prefix(60))...' (\(Self.abc.utf8.count + 4) bytes)"), "\(line.prefix(300))")
        }
        // In a CDATA section the "tag" is text: never skipped.
        let prefix = syntax == .cii ? "ram:AttachmentBinaryObject" : "cbc:EmbeddedDocumentBinaryObject"
        let cdata = try Self.invoice(syntax, payload: "QUJD", tail: "<![CDATA[ ok ]]><![CDATA[<\(prefix)>\(Self.abc)</\(prefix)>]]>")
        #expect(XMLDoc.attachmentRuns(in: cdata).isEmpty)
        try Self.same(cdata, syntax)
        let element = "<AttachmentBinaryObject>\(Self.abc)</AttachmentBinaryObject>"
        #expect(XMLDoc.attachmentRuns(in: Data("<r><![CDATA[x]]>\(element)</r>".utf8)).count == 1)
        #expect(XMLDoc.attachmentRuns(in: Data("<r><![CDATA[\(element)]]></r>".utf8)).isEmpty)
        #expect(XMLDoc.attachmentRuns(in: Data("<r><![CDATA[x\(element)".utf8)).isEmpty)
        // Other names, an empty element, a tag with '<' in a quoted value: left alone.
        for text in ["<x:XEmbeddedDocumentBinaryObject>\(Self.abc)</x:XEmbeddedDocumentBinaryObject>",
                     "<EmbeddedDocumentBinaryObjects>\(Self.abc)</EmbeddedDocumentBinaryObjects>",
                     "<AttachmentBinaryObject/>\(Self.abc)</x>",
                     "<AttachmentBinaryObject a='<'>\(Self.abc)</AttachmentBinaryObject>",
                     "<1x:AttachmentBinaryObject>\(Self.abc)</1x:AttachmentBinaryObject>"] {
            #expect(XMLDoc.attachmentRuns(in: Data(text.utf8)).isEmpty, "\(text.prefix(40))")
        }
        #expect(XMLDoc.attachmentRuns(in: Data("<AttachmentBinaryObject>\(Self.abc)</AttachmentBinaryObject>".utf8)).count == 1)
    }

    @Test("the corpus invoice that carries a 3.2 MB PDF: same verdict, skipped")
    func corpusAttachment() throws {
        let data = try Corpus.data("invoices/en16931-official/ubl/FT_G2G_TD01_con_Allegato_Bonifico_e_Split_Payment.xml")
        let runs = XMLDoc.attachmentRuns(in: data)
        #expect(runs.count == 1)
        #expect((runs.first?.range.count ?? 0) > 3_000_000)
        try Self.same(data, .ublInvoice)
    }
}
