import FluxCore
import Foundation

/// One file of a flux: the deposit itself when it is a single XML, or an archive member.
public struct FluxItem: Sendable {
    public var name: String
    public var content: Data
    public var facts: InvoiceFacts
    /// Business-rule findings; any makes the invoice "213 Rejetée".
    public var anomalies: [Anomaly]

    public var accepted: Bool { anomalies.isEmpty }
}

/// What the gateway understood of a deposit: a flux-level verdict (500 / 501 with IRR_*) and the
/// items inside. A flux with a flux-level anomaly carries no items: PPF semantics, the whole
/// flux is "irrecevable" and the sender fixes and resends it.
public struct FluxReport: Sendable {
    public var format: String
    public var fluxAnomalies: [Anomaly]
    public var items: [FluxItem]

    public var fluxAccepted: Bool { fluxAnomalies.isEmpty }

    static func refused(_ format: String, _ a: Anomaly) -> FluxReport {
        FluxReport(format: format, fluxAnomalies: [a], items: [])
    }
}

/// The "Split" and "Understand" stages for one deposit file.
public struct FluxInspector: Sendable {
    public var limits: FluxLimits

    public init(limits: FluxLimits = FluxLimits()) { self.limits = limits }

    /// Inspects the file at `path`, deposited under the name `fileName`.
    public func inspect(path: String, fileName: String) -> FluxReport {
        let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
        if size == 0 {
            return .refused("unknown", Anomaly(rule: "FLUX-EMPTY", reasonCode: "IRR_VIDE_F", message: "the file '\(fileName)' is empty"))
        }
        if size > limits.maxFluxBytes {
            return .refused("unknown", Anomaly(rule: "FLUX-SIZE", reasonCode: "IRR_TAILLE", message: "the flux is \(size) bytes, over the \(limits.maxFluxBytes)-byte limit"))
        }
        let head = Self.head(path: path, count: 64)
        switch Self.sniff(head) {
        case .gzip:
            return inspectArchive(path: path, format: .tarGz)
        case .zip:
            return inspectArchive(path: path, format: .zip)
        case .pdf:
            // Factur-X extraction comes with the full validation layer; until then say so by name.
            return .refused("pdf", Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'\(fileName)' is a PDF; Factur-X PDFs are not accepted by this gateway version"))
        case .xml:
            if size > limits.maxFileBytes {
                return .refused("xml", Anomaly(rule: "FLUX-FILE-SIZE", reasonCode: "IRR_TAILLE_F", message: "'\(fileName)' is \(size) bytes, over the \(limits.maxFileBytes)-byte limit"))
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                return .refused("xml", Anomaly(rule: "FLUX-READ", reasonCode: "IRR_EXTRAC", message: "'\(fileName)' cannot be read"))
            }
            switch Self.understand(name: fileName, data: data) {
            case .success(let item): return FluxReport(format: "xml", fluxAnomalies: [], items: [item])
            case .failure(let a): return .refused("xml", a)
            }
        case .unknown:
            return .refused("unknown", Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'\(fileName)' is neither XML nor a tar.gz or zip archive"))
        }
    }

    func inspectArchive(path: String, format: ArchiveReader.Format) -> FluxReport {
        var items: [FluxItem] = []
        var memberRule: String?
        do {
            try ArchiveReader.read(path: path, format: format, limits: limits) { name, data in
                if data.isEmpty {
                    throw FluxError("IRR_VIDE_F", "member '\(name)' is empty")
                }
                if Self.sniff(Array(data.prefix(64))) != .xml {
                    throw FluxError("IRR_TYPE_F", "member '\(name)' is not an XML file")
                }
                switch Self.understand(name: name, data: data) {
                case .success(let item): items.append(item)
                case .failure(let a):
                    memberRule = a.rule
                    throw FluxError(a.reasonCode, a.message)
                }
            }
        } catch let e as FluxError {
            return .refused(format.rawValue, Anomaly(rule: memberRule ?? "FLUX-ARCHIVE", reasonCode: e.code, message: e.message))
        } catch {
            return .refused(format.rawValue, Anomaly(rule: "FLUX-ARCHIVE", reasonCode: "IRR_EXTRAC", message: "\(error)"))
        }
        return FluxReport(format: format.rawValue, fluxAnomalies: [], items: items)
    }

    /// Parses, detects and extracts one XML file. Flux-level failures come back as `.failure`.
    public static func understand(name: String, data: Data) -> Result<FluxItem, Anomaly> {
        let doc: XMLDoc
        do {
            doc = try XMLDoc.parse(data, name: name)
        } catch {
            let rule = error.code == "xml-dtd" ? "FLUX-XML-DTD" : error.code == "xml-encoding" ? "FLUX-XML-UTF8" : "FLUX-XML-SYNTAX"
            return .failure(Anomaly(rule: rule, reasonCode: "IRR_SYNTAX", message: "'\(name)': \(error.message)"))
        }
        guard let root = doc.root else {
            return .failure(Anomaly(rule: "FLUX-XML-SYNTAX", reasonCode: "IRR_SYNTAX", message: "'\(name)' has no root element"))
        }
        switch InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace) {
        case .failure(let u):
            return .failure(Anomaly(rule: "FLUX-SYNTAX-UNSUPPORTED", reasonCode: "IRR_TYPE_F", message: "'\(name)' is an unsupported syntax: \(u.name)"))
        case .success(let syntax):
            let facts = InvoiceExtractor.extract(doc, syntax: syntax)
            return .success(FluxItem(name: name, content: data, facts: facts, anomalies: InvoiceChecker.check(facts)))
        }
    }

    enum Kind { case gzip, zip, pdf, xml, unknown }

    static func sniff(_ head: [UInt8]) -> Kind {
        if head.starts(with: [0x1F, 0x8B]) { return .gzip }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if head.starts(with: Array("%PDF".utf8)) { return .pdf }
        var h = head[...]
        if h.starts(with: [0xEF, 0xBB, 0xBF]) { h = h.dropFirst(3) }
        if h.starts(with: [0xFF, 0xFE]) || h.starts(with: [0xFE, 0xFF]) { return .xml }  // refused later as UTF-16
        if let first = h.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }), first == UInt8(ascii: "<") { return .xml }
        return .unknown
    }

    static func head(path: String, count: Int) -> [UInt8] {
        guard let fh = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? fh.close() }
        return [UInt8]((try? fh.read(upToCount: count)) ?? Data())
    }
}
