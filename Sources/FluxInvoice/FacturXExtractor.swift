import FluxCore
import Foundation

/// Finds the invoice XML embedded in a Factur-X / ZUGFeRD 2.x / XRechnung PDF (EINVOICING.md §4)
/// with libqpdf.
///
/// The invoice is the attachment named `factur-x.xml`, `zugferd-invoice.xml`, `xrechnung.xml` or
/// (ZUGFeRD 1) `ZUGFeRD-invoice.xml`, compared without case. It is looked up in the catalog's
/// `/AF` array first, then in the `/Names /EmbeddedFiles` name tree (older generators declare
/// it only there). An XML under any other name is not the invoice, whatever its
/// `/AFRelationship`. When several candidates exist, the first readable one wins, in this
/// order: `/AF` before name tree, and the ZUGFeRD 1 name last, so that a PDF carrying both a
/// ZUGFeRD 1 and a Factur-X XML yields the Factur-X one.
///
/// Errors are `FluxError`s whose code is the PPF reason:
/// - `IRR_EXTRAC`: the PDF cannot be read: not a PDF, truncated, damaged cross-reference table
///   (qpdf runs without repair, see `QPDFDocument`), encrypted.
/// - `IRR_TYPE_F`: a readable PDF without an invoice XML; the message says what it found: no
///   attachment, only other attachments (named), or an invoice attachment whose embedded file
///   cannot be read (and why).
/// - `IRR_TAILLE_F`: the invoice XML decodes to more than `maxXMLBytes`.
public enum FacturXExtractor {
    /// Accepted invoice attachment names, lowercased.
    static let invoiceNames: Set<String> = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"]
    /// The ZUGFeRD 1.0 spelling, tried after every other candidate.
    static let zugferd1Name = "ZUGFeRD-invoice.xml"
    static let maxNameTreeDepth = 32
    /// Bound on `/AF` items plus name-tree nodes and entries visited.
    static let maxEntries = 10_000
    static let maxXMPBytes = 4 << 20
    /// Candidates decoded at most: each may cost up to `maxXMLBytes` of inflating before it
    /// turns out corrupt, and real PDFs carry one or two.
    static let maxCandidatesTried = 8

    /// Extracts the invoice XML of the PDF file at `path`. `readXMP` also reads the catalog's
    /// XMP metadata for `xmpConformanceLevel`; `label` stands for the path in error texts (by
    /// default its last component).
    public static func extract(path: String, maxXMLBytes: Int64 = 120_000_000, readXMP: Bool = true,
                               label: String? = nil) throws(FluxError) -> FacturXAttachment {
        let document = try QPDFDocument(path: path, label: label)
        return try extract(from: document, maxXMLBytes: maxXMLBytes, readXMP: readXMP)
    }

    /// Extracts the invoice XML of a PDF held in memory.
    public static func extract(data: Data, maxXMLBytes: Int64 = 120_000_000, readXMP: Bool = true) throws(FluxError) -> FacturXAttachment {
        try QPDFDocument.reading(data) { (document) throws(FluxError) in
            try extract(from: document, maxXMLBytes: maxXMLBytes, readXMP: readXMP)
        }
    }

    /// One attached file as the catalog declares it.
    private struct Attachment {
        var displayName: String
        /// The name that made it an invoice candidate, nil for any other attachment.
        var invoiceName: String?
        var relationship: String?
        var fileSpec: QPDFDocument.Object
        var inAF: Bool

        var isZUGFeRD1: Bool { invoiceName == FacturXExtractor.zugferd1Name }
        var label: String { "'\(displayName)'" + (relationship.map { " (/\($0))" } ?? "") }
    }

    static func extract(from doc: QPDFDocument, maxXMLBytes: Int64, readXMP: Bool) throws(FluxError) -> FacturXAttachment {
        guard let root = doc.root, doc.isDictionary(root) else {
            throw FluxError("IRR_EXTRAC", "the PDF has no document catalog" + (doc.takeError().map { ": \($0)" } ?? ""))
        }
        let limit = Int(clamping: max(0, maxXMLBytes))
        var budget = maxEntries
        var attachments = afAttachments(doc, root: root, budget: &budget)

        // The common case without the name tree: an /AF entry under a Factur-X name sorts first
        // among all candidates (below), so when it reads, nothing in the tree can change the
        // answer. Resolving /Names and the tree's objects was 4% of a Factur-X PDF's time.
        // Reading the error clears it: kept for the check after the name tree below.
        let afError = doc.takeError()
        if afError == nil,
           let first = attachments.first(where: { $0.invoiceName != nil && !$0.isZUGFeRD1 }) {
            var tried = Set<Int32>()
            if case .found(var attachment) = try read(first, doc, limit: limit, maxXMLBytes: maxXMLBytes, tried: &tried) {
                if readXMP { attachment.xmpConformanceLevel = xmpConformanceLevel(doc, root: root) }
                return attachment
            }
            // A candidate that does not read is tried again with the others below; what qpdf
            // said about it is not an error of the attachment lists.
            _ = doc.takeError()
        }

        var treeNote = ""
        if let names = doc.value(root, "/Names"), let tree = doc.value(names, "/EmbeddedFiles") {
            var walk = NameTreeWalk(budget: budget)
            walk.visit(doc, tree, depth: 0)
            if walk.truncated {
                treeNote = " (the embedded-files name tree was only read up to depth \(maxNameTreeDepth) and \(maxEntries) entries)"
            }
            // Each file specification once: most PDFs list the same objects in /AF and the tree.
            var seenIDs = Set(attachments.compactMap { doc.objectID($0.fileSpec) })
            let afNames = Set(attachments.map(\.displayName))
            for (key, spec) in walk.entries where doc.isDictionary(spec) {
                if let id = doc.objectID(spec), !seenIDs.insert(id).inserted { continue }
                let a = attachment(doc, spec, treeKey: key, inAF: false)
                if doc.objectID(spec) == nil, afNames.contains(a.displayName) { continue }
                attachments.append(a)
            }
        }
        if let error = afError ?? doc.takeError() {
            throw FluxError("IRR_EXTRAC", "the PDF's attachments cannot be read: \(error)")
        }

        let candidates = attachments.enumerated()
            .filter { $0.element.invoiceName != nil }
            .sorted { l, r in
                let lk = (l.element.isZUGFeRD1 ? 1 : 0, l.element.inAF ? 0 : 1, l.offset)
                let rk = (r.element.isZUGFeRD1 ? 1 : 0, r.element.inAF ? 0 : 1, r.offset)
                return lk < rk
            }
            .map(\.element)
        guard !candidates.isEmpty else {
            if attachments.isEmpty {
                throw FluxError("IRR_TYPE_F", "the PDF has no attached file (no /AF entry, no embedded file): it is not a Factur-X invoice\(treeNote)")
            }
            let shown = attachments.prefix(10).map(\.label).joined(separator: ", ")
            let more = attachments.count > 10 ? " and \(attachments.count - 10) more" : ""
            throw FluxError("IRR_TYPE_F", "the PDF has no invoice XML (factur-x.xml, zugferd-invoice.xml or xrechnung.xml); it only has \(shown)\(more)\(treeNote)")
        }

        var failures: [String] = []
        var triedStreams = Set<Int32>()
        for c in candidates {
            guard failures.count < maxCandidatesTried else {
                failures.append("further candidates were not tried")
                break
            }
            switch try read(c, doc, limit: limit, maxXMLBytes: maxXMLBytes, tried: &triedStreams) {
            case .found(var attachment):
                if readXMP { attachment.xmpConformanceLevel = xmpConformanceLevel(doc, root: root) }
                return attachment
            case .failed(let why): failures.append(why)
            case .alreadyTried: continue
            }
        }
        throw FluxError("IRR_TYPE_F", "the PDF declares an invoice XML but its embedded file cannot be read: \(failures.joined(separator: "; "))")
    }

    private enum Candidate {
        case found(FacturXAttachment)
        case failed(String)
        /// Its stream was already tried through another file specification.
        case alreadyTried
    }

    /// Decodes one candidate's embedded file. Throws IRR_TAILLE_F when it is over the limit.
    private static func read(_ c: Attachment, _ doc: QPDFDocument, limit: Int, maxXMLBytes: Int64,
                             tried: inout Set<Int32>) throws(FluxError) -> Candidate {
        let name = c.invoiceName ?? c.displayName
        guard let ef = doc.value(c.fileSpec, "/EF"), doc.isDictionary(ef),
              let stream = doc.value(ef, "/F") ?? doc.value(ef, "/UF"), doc.isStream(stream) else {
            _ = doc.takeError()
            return .failed("\(c.label) has no embedded file stream (/EF /F)")
        }
        // Several file specifications may share one stream: a failed one is not retried.
        if let id = doc.objectID(stream), !tried.insert(id).inserted { return .alreadyTried }
        let xml: Data
        do throws(QPDFDocument.DecodeFailure) {
            xml = try doc.boundedData(stream, limit: limit)
        } catch {
            switch error {
            case .tooLarge:
                throw FluxError("IRR_TAILLE_F", "the embedded '\(name)' is larger than the \(maxXMLBytes)-byte limit")
            case .unreadable(let why):
                return .failed("\(c.label) cannot be read: \(why)")
            }
        }
        let mimeType = doc.value(stream, "/Subtype").flatMap(doc.name)
        _ = doc.takeError()
        return .found(FacturXAttachment(fileName: name, relationship: c.relationship, mimeType: mimeType,
                                        xml: xml, xmpConformanceLevel: nil))
    }

    /// The file specifications of the catalog's `/AF` array, in order, each object once.
    private static func afAttachments(_ doc: QPDFDocument, root: QPDFDocument.Object, budget: inout Int) -> [Attachment] {
        guard let af = doc.value(root, "/AF") else { return [] }
        var seen = Set<Int32>()
        var result: [Attachment] = []
        for spec in doc.items(af, limit: budget) where doc.isDictionary(spec) {
            budget -= 1
            if let id = doc.objectID(spec) {
                guard seen.insert(id).inserted else { continue }
            }
            result.append(attachment(doc, spec, treeKey: nil, inAF: true))
        }
        return result
    }

    private static func attachment(_ doc: QPDFDocument, _ spec: QPDFDocument.Object, treeKey: String?, inAF: Bool) -> Attachment {
        let uf = doc.value(spec, "/UF").flatMap(doc.text)
        let f = doc.value(spec, "/F").flatMap(doc.text)
        let names = [uf, f, treeKey].compactMap { $0 }
        let invoiceName = names.first { invoiceNames.contains($0.lowercased()) }
        let relationship = doc.value(spec, "/AFRelationship").flatMap(doc.name)
        return Attachment(displayName: invoiceName ?? names.first ?? "", invoiceName: invoiceName,
                          relationship: relationship, fileSpec: spec, inAF: inAF)
    }

    /// A bounded walk of a name tree (`/Names` key/value pairs and `/Kids`), never visiting an
    /// object twice.
    private struct NameTreeWalk {
        var budget: Int
        var entries: [(String, QPDFDocument.Object)] = []
        var visited = Set<Int32>()
        var truncated = false

        mutating func visit(_ doc: QPDFDocument, _ node: QPDFDocument.Object, depth: Int) {
            guard depth < FacturXExtractor.maxNameTreeDepth, budget > 0 else { truncated = true; return }
            guard doc.isDictionary(node) else { return }
            if let id = doc.objectID(node) {
                guard visited.insert(id).inserted else { return }
            }
            budget -= 1
            if let names = doc.value(node, "/Names") {
                let pairs = min(doc.count(names) / 2, budget)
                if pairs < doc.count(names) / 2 { truncated = true }
                let items = doc.items(names, limit: pairs * 2)
                for i in stride(from: 0, to: items.count - 1, by: 2) {
                    budget -= 1
                    entries.append((doc.text(items[i]) ?? "", items[i + 1]))
                }
            }
            if let kids = doc.value(node, "/Kids") {
                for kid in doc.items(kids, limit: max(budget, 0)) {
                    guard budget > 0 else { truncated = true; return }
                    visit(doc, kid, depth: depth + 1)
                }
            }
        }
    }

    /// `fx:ConformanceLevel` from the catalog's `/Metadata` XMP stream; nil when unreadable.
    private static func xmpConformanceLevel(_ doc: QPDFDocument, root: QPDFDocument.Object) -> String? {
        defer { _ = doc.takeError() }
        guard let metadata = doc.value(root, "/Metadata"), doc.isStream(metadata),
              let xmp = try? doc.boundedData(metadata, limit: maxXMPBytes) else { return nil }
        return XMPConformanceLevel.find(in: xmp)
    }
}
