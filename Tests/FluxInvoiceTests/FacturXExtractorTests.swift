import CQPDF
import FluxCore
@testable import FluxInvoice
import Foundation
import Testing

/// Factur-X / ZUGFeRD attachment extraction: every corpus PDF against MANIFEST.tsv, the
/// negative PDFs, and hand-built PDFs for the failure modes the corpus lacks.
@Suite("FacturXExtractor: invoice XML inside PDFs")
struct FacturXExtractorTests {
    // MARK: Corpus

    /// `$FLUX_SHARED/corpus`, else `../shared/corpus` next to the repository.
    static let corpus: URL = {
        if let shared = ProcessInfo.processInfo.environment["FLUX_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("corpus")
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/corpus")
    }()

    static func corpusFile(_ relative: String) -> String { corpus.appendingPathComponent(relative).path }

    /// Every PDF of facturx-pdf/generated and facturx-pdf/third-party/**, relative to the corpus.
    static let facturXPDFs: [String] = {
        let base = corpus.appendingPathComponent("facturx-pdf").path
        let all = (FileManager.default.enumerator(atPath: base)?.allObjects as? [String]) ?? []
        return all.filter { $0.hasSuffix(".pdf") && ($0.hasPrefix("generated/") || $0.hasPrefix("third-party/")) }
            .map { "facturx-pdf/" + $0 }
            .sorted()
    }()

    /// MANIFEST.tsv results column by corpus-relative path.
    static let manifest: [String: String] = {
        guard let text = try? String(contentsOfFile: corpusFile("MANIFEST.tsv"), encoding: .utf8) else { return [:] }
        var rows: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            if cols.count >= 5 { rows[String(cols[0])] = String(cols[4]) }
        }
        return rows
    }()

    /// The text of `key=` up to the next ` word=` field of a manifest result ("xmp-level=EN 16931 AF=…").
    static func field(_ key: String, of result: String) -> String? {
        guard let r = result.range(of: key + "=") else { return nil }
        let rest = result[r.upperBound...]
        let end = rest.range(of: #" [A-Za-z-]+="#, options: .regularExpression)?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    /// What the manifest implies the extractor returns: the first /AF entry with an invoice
    /// name, the ZUGFeRD 1 name last.
    static func expectedAttachment(_ result: String) -> (name: String, relationship: String)? {
        guard let af = field("AF", of: result), af != "none" else { return nil }
        let entries: [(String, String)] = af.split(separator: ";").compactMap { e in
            guard let eq = e.lastIndex(of: "=") else { return nil }
            return (String(e[..<eq]), String(e[e.index(after: eq)...].drop { $0 == "/" }))
        }
        let accepted = entries.filter { ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"].contains($0.0.lowercased()) }
        return (accepted.first { $0.0 != "ZUGFeRD-invoice.xml" } ?? accepted.first).map { (name: $0.0, relationship: $0.1) }
    }

    /// Runs `body` and returns the FluxError it throws (nil when it throws none).
    func fluxError(_ body: () throws(FluxError) -> FacturXAttachment) -> FluxError? {
        do { _ = try body() } catch { return error }
        return nil
    }

    /// The XML with a UTF-8 byte-order mark removed (two third-party files start with one).
    func withoutBOM(_ data: Data) -> Data {
        data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data
    }

    @Test("the corpus has the expected Factur-X PDFs")
    func corpusPresent() {
        #expect(Self.facturXPDFs.count == 15)
        #expect(!Self.manifest.isEmpty)
    }

    @Test("every Factur-X / ZUGFeRD PDF of the corpus yields its invoice XML as MANIFEST.tsv says",
          arguments: FacturXExtractorTests.facturXPDFs)
    func corpusPDF(_ relative: String) throws {
        let result = try #require(Self.manifest[relative], "no manifest row for \(relative)")
        let expected = try #require(Self.expectedAttachment(result))
        let a = try FacturXExtractor.extract(path: Self.corpusFile(relative))
        #expect(a.fileName == expected.name)
        #expect(a.relationship == expected.relationship)
        #expect(a.mimeType == "text/xml" || a.mimeType == "application/xml")
        #expect(a.xmpConformanceLevel == Self.field("xmp-level", of: result))
        let xml = withoutBOM(a.xml)
        #expect(xml.starts(with: Data("<?xml".utf8)) || xml.first == UInt8(ascii: "<"))
        #expect(String(decoding: a.xml, as: UTF8.self).contains("CrossIndustryInvoice"))
        // The in-memory entry point gives the same answer.
        let fromData = try FacturXExtractor.extract(data: Data(contentsOf: URL(fileURLWithPath: Self.corpusFile(relative))))
        #expect(fromData == a)
    }

    @Test("generated PDFs re-extract byte-identical to their source XML", arguments: [
        ("facturx-FR-EN16931.pdf", "invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml"),
        ("facturx-FR-BASIC.pdf", "invoices/fr-generated/FR-CII-BASIC.xml"),
        ("facturx-FR-BASICWL.pdf", "invoices/fr-generated/FR-CII-BASICWL.xml"),
        ("facturx-FR-MINIMUM.pdf", "invoices/fr-generated/FR-CII-MINIMUM.xml"),
        ("facturx-CII_example1-EN16931.pdf", "invoices/en16931-official/cii/CII_example1.xml"),
        ("facturx-CII_example2-EN16931.pdf", "invoices/en16931-official/cii/CII_example2.xml"),
    ])
    func generatedByteIdentical(_ pdf: String, _ source: String) throws {
        let a = try FacturXExtractor.extract(path: Self.corpusFile("facturx-pdf/generated/" + pdf))
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.corpusFile(source)))
        #expect(a.xml == original)
        #expect(a.fileName == "factur-x.xml")
        #expect(a.relationship == "Data")
    }

    @Test("akretion: factur-x.xml (/Source) is found behind Bon_de_livraison.pdf, which is ignored")
    func akretionSecondAttachmentIgnored() throws {
        let a = try FacturXExtractor.extract(path: Self.corpusFile("facturx-pdf/third-party/akretion/invoice_EN16931.pdf"))
        #expect(a.fileName == "factur-x.xml")
        #expect(a.relationship == "Source")
        #expect(!a.xml.starts(with: Data("%PDF".utf8)))
    }

    // MARK: Negative corpus

    @Test("a PDF/A-3 without attachment is IRR_TYPE_F")
    func noAttachment() {
        let e = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/NEG-PDF-01_pdfa3-without-embedded-xml.pdf"))
        }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("no attached file") == true)
    }

    @Test("a plain PDF/A-1a is IRR_TYPE_F")
    func plainPDF() {
        let e = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/mustang_MustangGnuaccountingBeispielRE-20201121_508blanko.pdf"))
        }
        #expect(e?.code == "IRR_TYPE_F")
    }

    @Test("a 15-byte PDF is IRR_EXTRAC")
    func wayTooSmall() {
        let e = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/mustang_corrupt-factur-x-waytoosmall.pdf"))
        }
        #expect(e?.code == "IRR_EXTRAC")
    }

    /// mustang_corruptedV2PDF.pdf lost 3 bytes in a /MediaBox: every xref offset after it, and
    /// startxref, point 3 bytes off; its /Names also points at the OutputIntent. qpdf could
    /// rebuild the xref by scanning (and /AF would then give factur-x.xml), but the extractor
    /// does not repair PDFs: IRR_EXTRAC.
    @Test("a PDF with a damaged cross-reference table is IRR_EXTRAC, not repaired")
    func corruptedXref() {
        let e = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/mustang_corruptedV2PDF.pdf"))
        }
        #expect(e?.code == "IRR_EXTRAC")
        #expect(e?.message.contains("xref") == true)
    }

    /// /AF lists factur-x.xml (a CII) and ZUGFeRD-invoice.xml (ZUGFeRD 1.0, urn:ferd namespace):
    /// factur-x.xml wins (first in /AF, and the ZUGFeRD 1 name is tried last). The manifest's
    /// "embedded=ZUGFeRD-invoice.xml" is what the Python oracle found first in the name tree.
    @Test("invalid XMP: the level is reported as written, factur-x.xml is preferred to ZUGFeRD-invoice.xml")
    func invalidXMP() throws {
        let a = try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/mustang_invalidXMP.pdf"))
        #expect(a.fileName == "factur-x.xml")
        #expect(a.relationship == "Alternative")
        #expect(a.xmpConformanceLevel == "no thing")
        #expect(String(decoding: a.xml, as: UTF8.self).contains("rsm:CrossIndustryInvoice"))
    }

    @Test("an invalid invoice XML is still extracted (later layers refuse it)")
    func invalidXML() throws {
        let a = try FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/mustang_XMLinvalidV2PDF.pdf"))
        #expect(a.fileName == "factur-x.xml")
        #expect(a.relationship == "Alternative")
        #expect(a.xmpConformanceLevel == "EXTENDED")
        #expect(a.xml.count == 9056)
    }

    @Test("random bytes after %PDF- are IRR_EXTRAC, quickly")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        var bytes = Data("%PDF-1.7\n".utf8)
        bytes.append(contentsOf: (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let start = ContinuousClock.now
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: bytes) }
        #expect(e?.code == "IRR_EXTRAC")
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test("empty data, a missing file and a non-PDF are IRR_EXTRAC")
    func notAPDF() {
        let empty = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: Data()) }
        #expect(empty?.code == "IRR_EXTRAC")
        let missing = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(path: "/nonexistent/flux-\(UUID().uuidString).pdf")
        }
        #expect(missing?.code == "IRR_EXTRAC")
        let xml = fluxError { () throws(FluxError) in
            try FacturXExtractor.extract(data: Data("<?xml version=\"1.0\"?><a/>".utf8))
        }
        #expect(xml?.code == "IRR_EXTRAC")
    }

    @Test("nothing from qpdf reaches stderr, even for damaged files")
    func silentOnStderr() throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fx-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let saved = dup(2)
        let fd = open(log.path, O_WRONLY)
        dup2(fd, 2)
        close(fd)
        for f in ["mustang_corruptedV2PDF.pdf", "mustang_corrupt-factur-x-waytoosmall.pdf", "NEG-PDF-01_pdfa3-without-embedded-xml.pdf"] {
            _ = try? FacturXExtractor.extract(path: Self.corpusFile("negative/pdf/" + f))
        }
        _ = try? FacturXExtractor.extract(data: Data("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".utf8))
        dup2(saved, 2)
        close(saved)
        let written = try String(contentsOf: log, encoding: .utf8)
        #expect(!written.contains("WARNING"))
        #expect(!written.contains("xref"))
        #expect(!written.contains("application did not handle error"))
    }

    @Test("mutated and truncated corpus PDFs give an attachment or a FluxError, never a crash")
    func mutatedPDFs() throws {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.corpusFile("facturx-pdf/generated/facturx-FR-BASIC.pdf"))))
        // Find the embedded file's stream so that half of the mutations land in FlateDecode data.
        let marker = [UInt8]("/Type /EmbeddedFile".utf8)
        let streamAt = (0..<(original.count - marker.count)).first { original[$0..<($0 + marker.count)].elementsEqual(marker) } ?? 0
        var seed: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        var outcomes: [String: Int] = [:]
        for round in 0..<300 {
            var bytes = original
            if round % 10 == 9 {
                bytes = Array(bytes.prefix(next(bytes.count)))
            } else {
                for _ in 0..<(1 + next(4)) {
                    let at = round % 2 == 0 ? min(bytes.count - 1, streamAt + next(2000)) : next(bytes.count)
                    bytes[at] = UInt8(next(256))
                }
            }
            do {
                _ = try FacturXExtractor.extract(data: Data(bytes))
                outcomes["ok", default: 0] += 1
            } catch {
                outcomes[error.code, default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 300)
        #expect(Set(outcomes.keys).isSubset(of: ["ok", "IRR_EXTRAC", "IRR_TYPE_F", "IRR_TAILLE_F"]))
    }

    // MARK: Hand-built PDFs

    static var invoiceXML: Data {
        (try? Data(contentsOf: URL(fileURLWithPath: corpusFile("invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")))) ?? Data()
    }

    @Test("an XML attached under another name (/Supplement) is not the invoice: IRR_TYPE_F naming it")
    func otherNameOnly() {
        var pdf = MiniPDF()
        let spec = pdf.attach("invoice.xml", Self.invoiceXML, relationship: "Supplement")
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: pdf.build(af: [spec], embedded: [("invoice.xml", spec)])) }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("'invoice.xml' (/Supplement)") == true)
    }

    @Test("an XML under another name is refused even when declared /Data")
    func otherNameAsData() {
        var pdf = MiniPDF()
        let spec = pdf.attach("facture.xml", Self.invoiceXML, relationship: "Data")
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: pdf.build(af: [spec], embedded: [])) }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("facture.xml") == true)
    }

    @Test("a factur-x.xml only in the EmbeddedFiles name tree (no /AF) is accepted")
    func nameTreeOnly() throws {
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", Self.invoiceXML, relationship: nil)
        let a = try FacturXExtractor.extract(data: pdf.build(af: [], embedded: [("factur-x.xml", spec)]))
        #expect(a.fileName == "factur-x.xml")
        #expect(a.relationship == nil)
        #expect(a.xml == Self.invoiceXML)
        #expect(a.xmpConformanceLevel == nil)
    }

    @Test("xrechnung.xml and a ZUGFeRD 1 ZUGFeRD-invoice.xml alone are accepted (the XML layer judges them)",
          arguments: ["xrechnung.xml", "ZUGFeRD-invoice.xml", "zugferd-invoice.xml", "Factur-X.xml"])
    func otherAcceptedNames(_ name: String) throws {
        var pdf = MiniPDF()
        let spec = pdf.attach(name, Self.invoiceXML, relationship: "Alternative")
        let a = try FacturXExtractor.extract(data: pdf.build(af: [spec], embedded: [(name, spec)]))
        #expect(a.fileName == name)
        #expect(a.relationship == "Alternative")
    }

    @Test("with a ZUGFeRD 1 XML listed first, factur-x.xml still wins")
    func zugferd1Last() throws {
        var pdf = MiniPDF()
        let zf1 = pdf.attach("ZUGFeRD-invoice.xml", Data("<old/>".utf8), relationship: "Alternative")
        let fx = pdf.attach("factur-x.xml", Self.invoiceXML, relationship: "Data")
        let a = try FacturXExtractor.extract(data: pdf.build(af: [zf1, fx], embedded: []))
        #expect(a.fileName == "factur-x.xml")
        #expect(a.xml == Self.invoiceXML)
    }

    @Test("the first readable candidate wins; when none is readable, IRR_TYPE_F says why")
    func unreadableCandidate() throws {
        var pdf = MiniPDF()
        let broken = pdf.add("<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /AFRelationship /Data /EF << /F 99 0 R >> >>")
        let bad = pdf.attach("factur-x.xml", Data("this is not zlib".utf8), relationship: "Data", filter: "/FlateDecode")
        let good = pdf.attach("factur-x.xml", Self.invoiceXML, relationship: "Alternative")
        let a = try FacturXExtractor.extract(data: pdf.build(af: [broken, bad, good], embedded: []))
        #expect(a.relationship == "Alternative")
        #expect(a.xml == Self.invoiceXML)

        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: pdf.build(af: [broken, bad], embedded: [])) }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("no embedded file stream") == true)
        #expect(e?.message.contains("FlateDecode data is corrupt") == true)
    }

    @Test("many file specifications sharing one corrupt stream: decoded once, few candidates tried")
    func sharedCorruptStream() {
        var pdf = MiniPDF()
        let first = pdf.attach("factur-x.xml", Data("not zlib".utf8), relationship: "Data", filter: "/FlateDecode")
        let stream = first - 1 // attach adds the stream just before its file specification
        var specs = [first]
        for _ in 0..<200 {
            specs.append(pdf.add("<< /Type /Filespec /F (factur-x.xml) /AFRelationship /Data /EF << /F \(stream) 0 R >> >>"))
        }
        for i in 0..<20 {
            specs.append(pdf.attach("factur-x.xml", Data("bad \(i)".utf8), relationship: "Data", filter: "/FlateDecode"))
        }
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: pdf.build(af: specs, embedded: [])) }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("further candidates were not tried") == true)
        #expect((e?.message.components(separatedBy: "cannot be read").count ?? 0) <= FacturXExtractor.maxCandidatesTried + 2) // + the lead sentence
    }

    @Test("a FlateDecode attachment decodes; the same file listed twice in /AF is read once")
    func flateAttachment() throws {
        let compressed = try zlibCompress(Self.invoiceXML)
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", compressed, relationship: "Data", filter: "/FlateDecode")
        let a = try FacturXExtractor.extract(data: pdf.build(af: [spec, spec], embedded: [("factur-x.xml", spec)]))
        #expect(a.xml == Self.invoiceXML)
    }

    @Test("filters qpdf decodes in one go are only used within the limit")
    func otherFilters() throws {
        let hex = Data(Self.invoiceXML.map { String(format: "%02X", $0) }.joined().utf8) + Data(">".utf8)
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", hex, relationship: "Data", filter: "/ASCIIHexDecode")
        let built = pdf.build(af: [spec], embedded: [])
        #expect(try FacturXExtractor.extract(data: built).xml == Self.invoiceXML)
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: built, maxXMLBytes: Int64(Self.invoiceXML.count)) }
        #expect(e?.code == "IRR_TYPE_F") // raw hex is twice the limit: not decoded at all
        var dct = MiniPDF()
        let image = dct.attach("factur-x.xml", Self.invoiceXML, relationship: "Data", filter: "/DCTDecode")
        let e2 = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: dct.build(af: [image], embedded: [])) }
        #expect(e2?.code == "IRR_TYPE_F")
        #expect(e2?.message.contains("/DCTDecode") == true)
    }

    @Test("maxXMLBytes is enforced on the decoded XML: IRR_TAILLE_F")
    func sizeLimit() throws {
        // facturx-FR-EN16931.pdf embeds the 8158-byte XML with FlateDecode.
        let compressed = Self.corpusFile("facturx-pdf/generated/facturx-FR-EN16931.pdf")
        #expect(try FacturXExtractor.extract(path: compressed, maxXMLBytes: 8158).xml.count == 8158)
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(path: compressed, maxXMLBytes: 8157) }
        #expect(e?.code == "IRR_TAILLE_F")
        #expect(e?.message.contains("factur-x.xml") == true)
        // Facture_F20180027.pdf embeds its 15658-byte XML unfiltered.
        let plain = Self.corpusFile("facturx-pdf/third-party/mustangproject/Facture_F20180027.pdf")
        #expect(try FacturXExtractor.extract(path: plain, maxXMLBytes: 15658).xml.count == 15658)
        #expect(fluxError { () throws(FluxError) in try FacturXExtractor.extract(path: plain, maxXMLBytes: 15657) }?.code == "IRR_TAILLE_F")
    }

    @Test("a FlateDecode bomb stops at the limit without expanding")
    func flateBomb() throws {
        let bomb = try zlibCompress(Data(count: 64 << 20))
        #expect(bomb.count < 100_000)
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", bomb, relationship: "Data", filter: "/FlateDecode")
        let built = pdf.build(af: [spec], embedded: [])
        let start = ContinuousClock.now
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: built, maxXMLBytes: 1 << 20) }
        #expect(e?.code == "IRR_TAILLE_F")
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("name trees: /Kids loops, depth and a lying /Names array stay bounded")
    func hostileNameTrees() throws {
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", Self.invoiceXML, relationship: nil)
        // A node whose /Kids include itself, and the invoice behind it: found once, no loop.
        let loop = pdf.reserve()
        pdf.set(loop, "<< /Kids [\(loop) 0 R \(loop) 0 R] /Names [(factur-x.xml) \(spec) 0 R] >>")
        let a = try FacturXExtractor.extract(data: pdf.build(af: [], embeddedTree: loop))
        #expect(a.xml == Self.invoiceXML)

        // The invoice 40 levels down: not reached, and the message says the tree was cut.
        var deep = MiniPDF()
        let deepSpec = deep.attach("factur-x.xml", Self.invoiceXML, relationship: nil)
        var node = deep.add("<< /Names [(factur-x.xml) \(deepSpec) 0 R] >>")
        for _ in 0..<40 { node = deep.add("<< /Kids [\(node) 0 R] >>") }
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: deep.build(af: [], embeddedTree: node)) }
        #expect(e?.code == "IRR_TYPE_F")
        #expect(e?.message.contains("depth 32") == true)

        // 30,000 pairs in one /Names array: read up to the entry bound only.
        var wide = MiniPDF()
        let other = wide.attach("note.txt", Data("x".utf8), relationship: nil)
        let pairs = String(repeating: "(note.txt) \(other) 0 R ", count: 30_000)
        let big = wide.add("<< /Names [\(pairs)] >>")
        let start = ContinuousClock.now
        let e2 = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: wide.build(af: [], embeddedTree: big)) }
        #expect(e2?.code == "IRR_TYPE_F")
        #expect(ContinuousClock.now - start < .seconds(20))
    }

    @Test("the name tree is read only when /AF has no readable Factur-X invoice")
    func nameTreeOnlyWhenNeeded() throws {
        var pdf = MiniPDF()
        let spec = pdf.attach("factur-x.xml", Self.invoiceXML, relationship: "Data")
        let broken = pdf.reserve()
        pdf.set(broken, "<< /Names [(factur-x.xml) 99 0 R")  // unterminated: qpdf cannot parse it
        // /AF holds the invoice: nothing in the tree could come before it, the tree is not read.
        let a = try FacturXExtractor.extract(data: pdf.build(af: [spec], embeddedTree: broken))
        #expect(a.xml == Self.invoiceXML)
        #expect(a.fileName == "factur-x.xml")
        // Without it, the tree has to be read: qpdf reads the damaged node as null, so no invoice.
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: pdf.build(af: [], embeddedTree: broken)) }
        #expect(e?.code == "IRR_TYPE_F")
        // A readable tree behind an /AF entry that cannot be read is still searched.
        var second = MiniPDF()
        let bad = second.add("<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /AFRelationship /Data >>")
        let good = second.attach("factur-x.xml", Self.invoiceXML, relationship: nil)
        let b = try FacturXExtractor.extract(data: second.build(af: [bad], embedded: [("factur-x.xml", good)]))
        #expect(b.xml == Self.invoiceXML)
    }

    @Test("an encrypted PDF is IRR_EXTRAC, with or without a user password", arguments: ["", "secret"])
    func encrypted(_ userPassword: String) throws {
        let encrypted = try Self.encrypt(Self.corpusFile("facturx-pdf/generated/facturx-FR-BASIC.pdf"), userPassword: userPassword)
        #expect(encrypted.starts(with: Data("%PDF".utf8)))
        let e = fluxError { () throws(FluxError) in try FacturXExtractor.extract(data: encrypted) }
        #expect(e?.code == "IRR_EXTRAC")
        #expect(e?.message.contains(userPassword.isEmpty ? "encrypted" : "password") == true)
    }

    // MARK: XMP and inflate units

    @Test("XMP ConformanceLevel as element, attribute, any prefix; other namespaces ignored")
    func xmpScanning() {
        func level(_ s: String) -> String? { XMPConformanceLevel.find(in: Data(s.utf8)) }
        #expect(level(#"<rdf:Description xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>"#) == "EN 16931")
        #expect(level(#"<rdf:Description xmlns:zf = 'urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#' zf:ConformanceLevel='BASIC WL'/>"#) == "BASIC WL")
        #expect(level(#"<d xmlns:a="urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"><a:ConformanceLevel> COMFORT\#n </a:ConformanceLevel></d>"#) == "COMFORT")
        #expect(level(#"<d xmlns:fx="urn:example:other#"><fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></d>"#) == nil)
        #expect(level(#"<pdfaProperty:name>ConformanceLevel</pdfaProperty:name>"#) == nil)
        #expect(level("") == nil)
    }

    @Test("the bounded inflater matches zlib on stored, fixed, dynamic and RLE streams")
    func inflaterMatchesZlib() throws {
        var text = Data()
        var x: UInt32 = 12345
        for i in 0..<200_000 {
            x = x &* 1_103_515_245 &+ 12345
            text.append(i % 7 == 0 ? UInt8(truncatingIfNeeded: x >> 16) : UInt8(ascii: "a") + UInt8(x >> 16 & 7))
        }
        for (level, strategy) in [(0, 0), (1, 0), (6, 0), (9, 0), (6, 4), (6, 2), (6, 3)] { // 4 = Z_FIXED, 2 = Z_HUFFMAN_ONLY, 3 = Z_RLE
            let z = try zlibCompress(text, level: level, strategy: strategy)
            let out = try BoundedInflater.inflateZlib([UInt8](z), maxOutput: text.count)
            #expect(Data(out) == text, "level \(level) strategy \(strategy)")
            #expect(throws: BoundedInflater.Failure.tooLarge) { try BoundedInflater.inflateZlib([UInt8](z), maxOutput: text.count - 1) }
        }
        var z = [UInt8](try zlibCompress(text))
        z[z.count - 1] ^= 1
        #expect(throws: BoundedInflater.Failure.corrupt("Adler-32 checksum mismatch")) { try BoundedInflater.inflateZlib(z, maxOutput: 1 << 30) }
        #expect(Data(try BoundedInflater.inflateZlib(Array(z.dropLast(4)), maxOutput: 1 << 30)) == text)
        #expect(throws: BoundedInflater.Failure.self) { try BoundedInflater.inflateZlib(Array(z.prefix(z.count / 2)), maxOutput: 1 << 30) }
        #expect(throws: BoundedInflater.Failure.self) { try BoundedInflater.inflateZlib([0x78, 0x9C, 0xFF, 0xFF, 0xFF], maxOutput: 100) }
        #expect(throws: BoundedInflater.Failure.self) { try BoundedInflater.inflateZlib([], maxOutput: 100) }
    }

    @Test("the bounded inflater never traps on garbage")
    func inflaterGarbage() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes: [UInt8] = [0x78, 0x9C]
            bytes += (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? BoundedInflater.inflateZlib(bytes, maxOutput: 1 << 16)
        }
    }

    // MARK: Helpers

    /// zlib-compresses with Python's zlib (level, strategy as in zlib.h).
    func zlibCompress(_ data: Data, level: Int = 9, strategy: Int = 0) throws -> Data {
        try withTemporaryDirectory { dir in
            let input = dir.appendingPathComponent("in"), output = dir.appendingPathComponent("out")
            try data.write(to: input)
            try python("""
                import sys, zlib
                c = zlib.compressobj(int(sys.argv[3]), zlib.DEFLATED, 15, 9, int(sys.argv[4]))
                open(sys.argv[2], 'wb').write(c.compress(open(sys.argv[1], 'rb').read()) + c.flush())
                """, [input.path, output.path, String(level), String(strategy)], in: dir)
            return try Data(contentsOf: output)
        }
    }

    /// Re-writes a PDF encrypted (AES-256, R6) with libqpdf's writer.
    static func encrypt(_ path: String, userPassword: String) throws -> Data {
        var q: qpdf_data? = qpdf_init()
        defer { qpdf_cleanup(&q) }
        qpdf_silence_errors(q)
        qpdf_set_suppress_warnings(q, QPDF_TRUE)
        qpdf_read(q, path, nil)
        qpdf_init_write_memory(q)
        qpdf_set_r6_encryption_parameters2(q, userPassword, "owner", QPDF_TRUE, QPDF_TRUE, QPDF_TRUE, QPDF_TRUE,
                                           QPDF_TRUE, QPDF_TRUE, qpdf_r3p_full, QPDF_TRUE)
        qpdf_write(q)
        if qpdf_has_error(q) != QPDF_FALSE, let e = qpdf_get_error(q) {
            throw FluxError("test", String(cString: qpdf_get_error_full_text(q, e)))
        }
        return Data(bytes: qpdf_get_buffer(q), count: qpdf_get_buffer_length(q))
    }
}

/// A minimal PDF writer for tests: objects by number, a correct xref table, one empty page.
private struct MiniPDF {
    private var objects: [Int: Data] = [:]
    private var next = 4 // 1 catalog, 2 pages, 3 page

    /// Adds an object and returns its number.
    mutating func add(_ body: String) -> Int { add(Data(body.utf8)) }

    mutating func add(_ body: Data) -> Int {
        let n = reserve()
        objects[n] = body
        return n
    }

    mutating func reserve() -> Int {
        defer { next += 1 }
        return next
    }

    mutating func set(_ n: Int, _ body: String) { objects[n] = Data(body.utf8) }

    /// Adds an embedded file stream and its file specification; returns the file spec's number.
    mutating func attach(_ name: String, _ content: Data, relationship: String?, filter: String? = nil) -> Int {
        var stream = Data("<< /Type /EmbeddedFile /Subtype /text#2Fxml \(filter.map { "/Filter \($0) " } ?? "")/Length \(content.count) >>\nstream\n".utf8)
        stream.append(content)
        stream.append(Data("\nendstream".utf8))
        let s = add(stream)
        let rel = relationship.map { " /AFRelationship /\($0)" } ?? ""
        return add("<< /Type /Filespec /F (\(name)) /UF (\(name))\(rel) /EF << /F \(s) 0 R /UF \(s) 0 R >> >>")
    }

    /// The PDF with a catalog listing `af` in /AF and `embedded` in a flat EmbeddedFiles tree.
    func build(af: [Int], embedded: [(String, Int)]) -> Data {
        let names = embedded.map { "(\($0.0)) \($0.1) 0 R" }.joined(separator: " ")
        return build(af: af, treeValue: embedded.isEmpty ? nil : "<< /Names [\(names)] >>")
    }

    /// The PDF with an EmbeddedFiles tree rooted at object `embeddedTree`.
    func build(af: [Int], embeddedTree: Int) -> Data {
        build(af: af, treeValue: "\(embeddedTree) 0 R")
    }

    private func build(af: [Int], treeValue: String?) -> Data {
        var all = objects
        let afEntry = af.isEmpty ? "" : " /AF [\(af.map { "\($0) 0 R" }.joined(separator: " "))]"
        let namesEntry = treeValue.map { " /Names << /EmbeddedFiles \($0) >>" } ?? ""
        all[1] = Data("<< /Type /Catalog /Pages 2 0 R\(afEntry)\(namesEntry) >>".utf8)
        all[2] = Data("<< /Type /Pages /Kids [3 0 R] /Count 1 >>".utf8)
        all[3] = Data("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".utf8)
        let size = (all.keys.max() ?? 3) + 1
        var out = Data("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets = [Int](repeating: -1, count: size)
        for n in all.keys.sorted() {
            offsets[n] = out.count
            out.append(Data("\(n) 0 obj\n".utf8))
            out.append(all[n] ?? Data())
            out.append(Data("\nendobj\n".utf8))
        }
        let xref = out.count
        var table = "xref\n0 \(size)\n0000000000 65535 f \n"
        for n in 1..<size {
            table += offsets[n] < 0 ? "0000000000 00000 f \n" : String(format: "%010d 00000 n \n", offsets[n])
        }
        table += "trailer\n<< /Size \(size) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        out.append(Data(table.utf8))
        return out
    }
}
