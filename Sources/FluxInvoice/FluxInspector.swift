import FluxCore
import Foundation

/// One file of a flux: the deposit itself when it is a single XML or PDF, or an archive member.
public struct FluxItem: Sendable {
    public var name: String
    /// The bytes as deposited (the PDF for a Factur-X, not the extracted XML).
    public var content: Data
    public var facts: InvoiceFacts
    /// Findings that reject the invoice ("213 Rejetée"), each with its official rule id.
    public var anomalies: [Anomaly]
    /// Findings of warning severity: journalled and shown, never a rejection.
    public var warnings: [Anomaly] = []
    /// The semantic model of an invoice (nil for lifecycle messages).
    public var model: InvoiceModel? = nil

    public var accepted: Bool { anomalies.isEmpty }
}

/// What the gateway understood of a deposit: a flux-level verdict (500 / 501 with IRR_*) and the
/// items inside. A flux with a flux-level anomaly carries no items: PPF semantics, the whole
/// flux is "irrecevable" and the sender fixes and resends it.
public struct FluxReport: Sendable {
    public var format: String
    public var fluxAnomalies: [Anomaly]
    public var items: [FluxItem]
    /// The PPF envelope, when the deposit is named as one.
    public var envelope: PPFEnvelope?

    public var fluxAccepted: Bool { fluxAnomalies.isEmpty }

    static func refused(_ format: String, _ a: Anomaly) -> FluxReport {
        FluxReport(format: format, fluxAnomalies: [a], items: [])
    }
}

/// The "Split" and "Understand" stages for one deposit file: flux-level checks (size, type,
/// envelope naming, archive limits, well-formedness, syntax) then, per invoice, XSD (when a
/// schema directory is configured) and the business rules.
public struct FluxInspector: Sendable {
    public var limits: FluxLimits
    public var xsd: XSDValidator?
    /// Shared by every concurrent inspection; nil: parses are not bounded together.
    public var parseBudget: ParseBudget?

    public init(limits: FluxLimits = FluxLimits(), xsd: XSDValidator? = nil, parseBudget: ParseBudget? = nil) {
        self.limits = limits
        self.xsd = xsd
        self.parseBudget = parseBudget
    }

    /// Inspects the file at `path`, deposited under the name `fileName`; items keep their bytes.
    public func inspect(path: String, fileName: String) -> FluxReport {
        let sink = ItemSink(nil)
        return inspect(path: path, fileName: fileName, sink: sink)
    }

    /// Inspects and hands each understood item to `onItem` as soon as it is read (to be spooled).
    /// With `keepItems` the report keeps the items without their bytes or model: their verdicts
    /// and key terms, about 4 KB each, which the deposit records need; bounded by
    /// `limits.maxEntries`. Without it the report lists no items at all and memory stays flat
    /// however many members an archive has: the caller takes what it needs in `onItem` (and
    /// drops it when the report refuses the flux, since then no item counts).
    /// An error thrown by `onItem` is not a verdict on the flux: it is rethrown.
    public func inspect(path: String, fileName: String, keepItems: Bool = true,
                        onItem: @escaping (FluxItem) throws -> Void) throws -> FluxReport {
        let sink = ItemSink(onItem, keep: keepItems)
        let report = inspect(path: path, fileName: fileName, sink: sink)
        if let e = sink.error { throw e }
        return report
    }

    /// The caller's item consumer and the first error it threw.
    final class ItemSink {
        let body: ((FluxItem) throws -> Void)?
        let keep: Bool
        var error: (any Error)?
        init(_ body: ((FluxItem) throws -> Void)?, keep: Bool = true) {
            self.body = body
            self.keep = keep
        }

        /// Hands the item over; returns what the report keeps of it: the whole item when there
        /// is no consumer, nothing when the caller keeps no items, else the item without its
        /// bytes and model.
        func take(_ item: FluxItem) throws -> FluxItem? {
            guard let body else { return item }
            do { try body(item) } catch { self.error = error; throw error }
            guard keep else { return nil }
            var stripped = item
            stripped.content = Data()
            stripped.model = nil  // the verdict and the facts stay; the rest would grow with the archive
            return stripped
        }
    }

    func inspect(path: String, fileName: String, sink: ItemSink) -> FluxReport {
        // One descriptor for the size, the sniff and the contents: stat, open/read and
        // FileManager's read were three opens and 6% of `validate`'s time on small files.
        // O_NONBLOCK: a FIFO must not hang the open (it has size 0 and is refused as empty).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        defer { if fd >= 0 { close(fd) } }
        var st = stat()
        let size = fd >= 0 && fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        if size == 0 {
            return .refused("unknown", Anomaly(rule: "FLUX-EMPTY", reasonCode: "IRR_VIDE_F", message: "the file '\(fileName)' is empty"))
        }
        if size > limits.maxFluxBytes {
            return .refused("unknown", Anomaly(rule: "FLUX-SIZE", reasonCode: "IRR_TAILLE", message: "the flux is \(size) bytes, over the \(limits.maxFluxBytes)-byte limit"))
        }
        var envelope: PPFEnvelope?
        if PPFEnvelope.looksLikeEnvelope(fileName) {
            switch PPFEnvelope.parse(fileName) {
            case .success(let e): envelope = e
            case .failure(let a): return .refused("unknown", a)
            }
        }
        let kind = Self.sniff(Self.read(fd: fd, count: 64))
        if envelope != nil && kind != .gzip {
            return .refused("unknown", Anomaly(rule: "PPF-ENVELOPE", reasonCode: "IRR_FORM", message: "'\(fileName)' is named as a PPF flux but is not a tar.gz archive"))
        }
        switch kind {
        case .gzip:
            var r = inspectArchive(path: path, format: .tarGz, envelope: envelope, sink: sink)
            r.envelope = envelope
            return r
        case .zip:
            return inspectArchive(path: path, format: .zip, envelope: nil, sink: sink)
        case .pdf, .xml:
            if size > limits.maxFileBytes {
                return .refused(kind == .pdf ? "pdf" : "xml", Anomaly(rule: "FLUX-FILE-SIZE", reasonCode: "IRR_TAILLE_F", message: "'\(fileName)' is \(size) bytes, over the \(limits.maxFileBytes)-byte limit"))
            }
            // A lone `Base_*.xml` / `Full_*.xml` is an F1 member named by the PPF convention.
            let f1 = kind == .xml && (fileName.hasPrefix("Base_") || fileName.hasPrefix("Full_"))
            let understood: Result<FluxItem, Anomaly>
            if size > Self.inMemoryMax {
                // Large files are parsed from the descriptor (XML) or read by qpdf from the path
                // (PDF) instead of being loaded whole: memory then holds what the parse builds,
                // not the file too, and a large file that is not well-formed costs nothing.
                understood = kind == .pdf
                    ? understandPDF(path: path, name: fileName)
                    : understandXML(fd: fd, size: size, name: fileName, regulatoryData: f1)
            } else {
                guard let data = Self.readAll(fd: fd, size: Int(size)) else {
                    return .refused("unknown", Anomaly(rule: "FLUX-READ", reasonCode: "IRR_EXTRAC", message: "'\(fileName)' cannot be read"))
                }
                understood = understandFile(name: fileName, data: data, regulatoryData: f1)
            }
            switch understood {
            case .success(let item):
                let kept: FluxItem?
                do { kept = try sink.take(item) } catch {
                    return .refused("xml", Anomaly(rule: "FLUX-STORE", reasonCode: "IRR_EXTRAC", message: "'\(fileName)' could not be stored"))
                }
                return FluxReport(format: kind == .pdf ? "pdf" : "xml", fluxAnomalies: [], items: kept.map { [$0] } ?? [])
            case .failure(let a): return .refused(kind == .pdf ? "pdf" : "xml", a)
            }
        case .unknown:
            return .refused("unknown", Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'\(fileName)' is neither XML, a Factur-X PDF, nor a tar.gz or zip archive"))
        }
    }

    func inspectArchive(path: String, format: ArchiveReader.Format, envelope: PPFEnvelope?, sink: ItemSink) -> FluxReport {
        var items: [FluxItem] = []
        var memberRule: String?
        do {
            try ArchiveReader.read(path: path, format: format, limits: limits) { name, data in
                if data.isEmpty {
                    throw FluxError("IRR_VIDE_F", "member '\(name)' is empty")
                }
                let kind = Self.sniff(Array(data.prefix(64)))
                if kind == .gzip || kind == .zip {
                    memberRule = "FLUX-NESTED-ARCHIVE"
                    throw FluxError("IRR_TYPE_F", "member '\(name)' is itself an archive; nested archives are not accepted")
                }
                switch understandFile(name: name, data: data, regulatoryData: envelope?.isF1 ?? false) {
                case .success(let item):
                    if let envelope, let a = envelope.check(memberName: name, syntax: item.facts.syntax) {
                        memberRule = a.rule
                        throw FluxError(a.reasonCode, a.message)
                    }
                    if let kept = try sink.take(item) { items.append(kept) }
                case .failure(let a):
                    memberRule = a.rule
                    throw FluxError(a.reasonCode, a.message)
                }
            }
        } catch {
            if sink.error != nil { return FluxReport(format: format.rawValue, fluxAnomalies: [], items: items) }  // rethrown by the caller
            if let e = error as? FluxError {
                return .refused(format.rawValue, Anomaly(rule: memberRule ?? "FLUX-ARCHIVE", reasonCode: e.code, message: e.message))
            }
            return .refused(format.rawValue, Anomaly(rule: "FLUX-ARCHIVE", reasonCode: "IRR_EXTRAC", message: "\(error)"))
        }
        return FluxReport(format: format.rawValue, fluxAnomalies: [], items: items)
    }

    /// One file, XML or Factur-X PDF. Flux-level failures come back as `.failure`.
    /// `regulatoryData`: the file is PPF F1 data (inside an F1 envelope), which is not an F2
    /// invoice: the EN 16931 / BR-FR invoice rules do not apply to it (the AIFE F1 rules do).
    public func understandFile(name: String, data: Data, regulatoryData: Bool = false) -> Result<FluxItem, Anomaly> {
        if data.isEmpty {
            return .failure(Anomaly(rule: "FLUX-EMPTY", reasonCode: "IRR_VIDE_F", message: "'\(name)' is empty"))
        }
        switch Self.sniff(Array(data.prefix(64))) {
        case .pdf:
            return PDFInvoiceReader.read(name: name, data: data, limits: limits).flatMap { embedded in
                understand(name: name, data: data, xml: embedded.xml, container: "\(embedded.fileName) in a PDF", regulatoryData: false)
            }
        case .xml:
            return understand(name: name, data: data, xml: data, container: nil, regulatoryData: regulatoryData)
        default:
            return .failure(Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'\(name)' is neither an XML file nor a Factur-X PDF"))
        }
    }

    /// Files above this size are not read into memory whole (see `inspect`). 8 MiB keeps an
    /// invoice that carries its PDF (a few MB of base64) in memory, where its attachment is
    /// skipped instead of parsed (`XMLDoc.parse`); concurrent deposits hold at most this much each.
    static let inMemoryMax: Int64 = 8 << 20
    /// What a large XML file's prolog may span: it is read ahead and checked for a DOCTYPE.
    static let prologMax: Int64 = 1 << 20

    /// A large XML file, parsed from `fd`; its item carries no content (the daemon spools
    /// top-level files itself).
    func understandXML(fd: Int32, size: Int64, name: String, regulatoryData: Bool) -> Result<FluxItem, Anomaly> {
        let head = Data(Self.read(fd: fd, count: Int(min(size, Self.prologMax))))
        return understand(name: name, content: Data(), weight: size, container: nil, regulatoryData: regulatoryData) { () throws(FluxError) in
            try XMLDoc.parse(fd: fd, size: size, head: head, name: name)
        }
    }

    /// A large Factur-X PDF, read by qpdf from `path` as it needs it.
    func understandPDF(path: String, name: String) -> Result<FluxItem, Anomaly> {
        PDFInvoiceReader.read(name: name, path: path, limits: limits).flatMap { embedded in
            understand(name: name, data: Data(), xml: embedded.xml, container: "\(embedded.fileName) in a PDF", regulatoryData: false)
        }
    }

    /// Parses, detects, validates and checks one XML document.
    func understand(name: String, data: Data, xml: Data, container: String?, regulatoryData: Bool) -> Result<FluxItem, Anomaly> {
        understand(name: name, content: data, weight: Int64(xml.count), container: container, regulatoryData: regulatoryData) { () throws(FluxError) in
            try XMLDoc.parse(xml, name: name)
        }
    }

    /// Detects, validates and checks the document `parse` yields; `content` becomes the item's.
    /// The tree lives only inside this call, so the parse budget is held for `weight` (the XML's
    /// size) around all of it.
    private func understand(name: String, content data: Data, weight: Int64, container: String?, regulatoryData: Bool,
                            parse: () throws(FluxError) -> XMLDoc) -> Result<FluxItem, Anomaly> {
        guard let parseBudget else { return understandNow(name: name, content: data, container: container, regulatoryData: regulatoryData, parse: parse) }
        return parseBudget.withReservation(weight) {
            understandNow(name: name, content: data, container: container, regulatoryData: regulatoryData, parse: parse)
        }
    }

    private func understandNow(name: String, content data: Data, container: String?, regulatoryData: Bool,
                               parse: () throws(FluxError) -> XMLDoc) -> Result<FluxItem, Anomaly> {
        let doc: XMLDoc
        do {
            doc = try parse()
        } catch {
            let rule = error.code == "xml-dtd" ? "FLUX-XML-DTD" : error.code == "xml-encoding" ? "FLUX-XML-UTF8" : error.code == "xml-empty" ? "FLUX-EMPTY" : "FLUX-XML-SYNTAX"
            let code = error.code == "xml-empty" ? "IRR_VIDE_F" : "IRR_SYNTAX"
            return .failure(Anomaly(rule: rule, reasonCode: code, message: "'\(name)'\(container.map { " (\($0))" } ?? ""): \(error.message)"))
        }
        guard let root = doc.root else {
            return .failure(Anomaly(rule: "FLUX-XML-SYNTAX", reasonCode: "IRR_SYNTAX", message: "'\(name)' has no root element"))
        }
        switch InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace) {
        case .failure(let u):
            return .failure(Anomaly(rule: "FLUX-SYNTAX-UNSUPPORTED", reasonCode: "IRR_TYPE_F", message: "'\(name)'\(container.map { " (\($0))" } ?? "") is an unsupported syntax: \(u.name)"))
        case .success(let syntax):
            var facts: InvoiceFacts
            var anomalies: [Anomaly] = []
            var warnings: [Anomaly] = []
            var model: InvoiceModel?
            if syntax == .cdar {
                facts = LifecycleExtractor.extract(doc).facts
            } else if regulatoryData {
                let r = RuleRunner.run(doc, syntax: syntax)
                facts = InvoiceFacts(model: r.model)
                facts.profile = "F1 regulatory data"
                anomalies = r.errors.filter { $0.rule.hasPrefix("FLUX-") }
            } else {
                let r = RuleRunner.run(doc, syntax: syntax)
                facts = InvoiceFacts(model: r.model)
                anomalies = r.errors
                warnings = r.warnings
                model = r.model
                facts.profile = r.model.profile.rawValue
            }
            facts.container = container
            // F1 data has its own AIFE schemas (F1BASE/F1FULL), not the F2 ones configured here.
            if let xsd, !regulatoryData { anomalies = xsd.validate(doc, syntax: syntax) + anomalies }
            return .success(FluxItem(name: name, content: data, facts: facts, anomalies: anomalies, warnings: warnings, model: model))
        }
    }

    /// Compatibility entry point without XSD (tests, simple callers).
    public static func understand(name: String, data: Data) -> Result<FluxItem, Anomaly> {
        FluxInspector().understandFile(name: name, data: data)
    }

    /// Whether the file is a tar.gz or zip (its members are separate originals to keep).
    public static func isArchive(path: String) -> Bool {
        let k = sniff(head(path: path, count: 8))
        return k == .gzip || k == .zip
    }

    enum Kind { case gzip, zip, pdf, xml, unknown }

    static func sniff(_ head: [UInt8]) -> Kind {
        if head.starts(with: [0x1F, 0x8B]) { return .gzip }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if head.starts(with: Array("%PDF".utf8)) { return .pdf }
        var h = head[...]
        if h.starts(with: [0xEF, 0xBB, 0xBF]) { h = h.dropFirst(3) }
        if h.starts(with: [0xFF, 0xFE]) || h.starts(with: [0xFE, 0xFF]) { return .xml }  // refused later as UTF-16
        if h.count >= 2, h[h.startIndex] == 0, h[h.startIndex + 1] == UInt8(ascii: "<") { return .xml }  // UTF-16BE, no BOM
        if h.count >= 2, h[h.startIndex] == UInt8(ascii: "<"), h[h.startIndex + 1] == 0 { return .xml }  // UTF-16LE, no BOM
        if let first = h.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }), first == UInt8(ascii: "<") { return .xml }
        return .unknown
    }

    static func head(path: String, count: Int) -> [UInt8] {
        // POSIX, not FileHandle: its read(upToCount:) was 4% of `validate`'s profile.
        // O_NONBLOCK as in `inspect`: a FIFO must not hang the open.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return read(fd: fd, count: count)
    }

    /// The first `count` bytes (fewer at end of file), read from offset 0 whatever the
    /// descriptor's position.
    static func read(fd: Int32, count: Int) -> [UInt8] {
        guard fd >= 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let filled = bytes.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress!, count) }
        bytes.removeLast(count - max(filled, 0))
        return bytes
    }

    /// The file's `size` bytes (what `fstat` said), nil on a read error or when it shrank.
    static func readAll(fd: Int32, size: Int) -> Data? {
        guard fd >= 0, size >= 0, let buffer = malloc(max(size, 1)) else { return nil }
        let filled = preadFully(fd, buffer, size)
        guard filled == size else {
            free(buffer)
            return nil
        }
        return Data(bytesNoCopy: buffer, count: size, deallocator: .free)
    }

    /// Reads up to `count` bytes from offset 0, retrying short reads; -1 on error.
    private static func preadFully(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var filled = 0
        while filled < count {
            let n = pread(fd, base + filled, count - filled, off_t(filled))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return -1 }
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}
