import CFluxShims
import CLibXML2
import FluxCore
import Foundation

/// A parsed XML document owned by exactly one Swift object (freed in `deinit`).
///
/// Parsing is hardened for hostile input: no network, no DTD loading, no entity substitution,
/// and any DOCTYPE at all is refused before libxml2 sees it, so neither XXE nor entity bombs can
/// expand. `@unchecked Sendable` is not claimed: a document stays on the task that parsed it.
public final class XMLDoc {
    let doc: xmlDocPtr

    private init(doc: xmlDocPtr) { self.doc = doc }
    deinit { xmlFreeDoc(doc) }

    /// Parses `data` or throws a `FluxError` whose code says why:
    /// `xml-empty`, `xml-dtd` (DOCTYPE refused), `xml-encoding` (not UTF-8), `xml-syntax`.
    ///
    /// Base64 attachments (BT-125) of 4 KB or more reach libxml2 as a four-character stand-in
    /// unless `elideAttachments` is false: their content is never read, and parsing it was most
    /// of the cost and the memory of an invoice that carries its PDF (see flux_xml_elide.c).
    public static func parse(_ data: Data, name: String = "input.xml", elideAttachments: Bool = true) throws(FluxError) -> XMLDoc {
        if data.isEmpty { throw FluxError("xml-empty", "the file is empty") }
        guard data.count < Int(Int32.max) else { throw FluxError("xml-size", "the file is too large to parse") }
        if let reason = XMLProlog.refusal(in: data) { throw reason }
        // Read in chunks, not with xmlCtxtReadMemory: libxml2 2.9 copies a memory input whole
        // before parsing it, so a file near the size limit cost twice its size.
        return try parse(name: name) { ctxt, options in
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                guard elideAttachments else { return flux_xml_read_chunked(ctxt, base, raw.count, name, options) }
                return withUnsafeTemporaryAllocation(of: flux_xml_elision.self, capacity: Self.maxElisions) { runs in
                    let count = flux_xml_find_attachments(base, raw.count, runs.baseAddress!, runs.count)
                    return flux_xml_read_elided(ctxt, base, raw.count, runs.baseAddress!, count, name, options)
                }
            }
        }
    }

    /// Attachments past this many in one document are parsed as they are.
    static let maxElisions = 64

    /// The attachment contents `parse` skips in `data`: byte ranges and the line ends in each.
    static func attachmentRuns(in data: Data) -> [(range: Range<Int>, lines: Int)] {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return [] }
            return withUnsafeTemporaryAllocation(of: flux_xml_elision.self, capacity: maxElisions) { runs in
                let count = flux_xml_find_attachments(base, raw.count, runs.baseAddress!, runs.count)
                return runs.prefix(count).map { (Int($0.start)..<Int($0.end), Int($0.lines)) }
            }
        }
    }

    /// Parses the XML file open on `fd` (`size` bytes) without holding it in memory, for large
    /// files: `head` is its beginning, already read by the caller, and must hold the whole
    /// prolog (what comes before the root element), so that a DOCTYPE is still refused before
    /// libxml2 sees it; a longer prolog is refused. Same errors as `parse(_:name:)`.
    public static func parse(fd: Int32, size: Int64, head: Data, name: String) throws(FluxError) -> XMLDoc {
        if size <= 0 || head.isEmpty { throw FluxError("xml-empty", "the file is empty") }
        let prolog = XMLProlog.scan(head)
        if let reason = prolog.refusal { throw reason }
        if !prolog.complete, Int64(head.count) < size {
            throw FluxError("xml-syntax", "not well-formed XML: the prolog (before the root element) is longer than \(head.count) bytes")
        }
        return try parse(name: name) { ctxt, options in
            head.withUnsafeBytes { raw in
                flux_xml_read_file(ctxt, fd, size, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count, name, options)
            }
        }
    }

    /// The hardened parse around `read`, which runs libxml2 on a parser context with the options.
    private static func parse(name: String, read: (UnsafeMutableRawPointer, Int32) -> UnsafeMutableRawPointer?) throws(FluxError) -> XMLDoc {
        flux_xml_prepare_thread()
        guard let ctxt = xmlNewParserCtxt() else { throw FluxError("xml-syntax", "cannot allocate an XML parser") }
        defer { xmlFreeParserCtxt(ctxt) }
        // NOBLANKS drops the indentation-only text nodes between elements (about half the nodes of an
        // invoice; libxml2 keeps whitespace wherever an element has text of its own), COMPACT stores
        // short texts inline: fewer allocations to parse and fewer nodes to walk.
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
            | XML_PARSE_NOBLANKS.rawValue | XML_PARSE_COMPACT.rawValue)
        guard let doc = read(UnsafeMutableRawPointer(ctxt), options)?.assumingMemoryBound(to: xmlDoc.self) else {
            let err = ctxt.pointee.lastError
            let msg = err.message.map { String(cString: $0).trimmedWhitespace } ?? "unknown error"
            if err.domain == Int32(XML_FROM_IO.rawValue) || msg.contains("encoding") || msg.contains("UTF-8") {
                throw FluxError("xml-encoding", "not well-formed UTF-8 (line \(err.line)): \(msg)")
            }
            throw FluxError("xml-syntax", "not well-formed XML (line \(err.line)): \(msg)")
        }
        let owner = XMLDoc(doc: doc)
        if flux_xml_has_dtd(doc) != 0 { throw FluxError("xml-dtd", "a DOCTYPE is not allowed in an invoice (DTDs and entities are refused)") }
        if ctxt.pointee.wellFormed == 0 { throw FluxError("xml-syntax", "not well-formed XML") }
        if let enc = doc.pointee.encoding {
            let e = String(cString: UnsafeRawPointer(enc).assumingMemoryBound(to: CChar.self)).uppercased()
            if e != "UTF-8" && e != "UTF8" { throw FluxError("xml-encoding", "the XML must be UTF-8, it declares \(e)") }
        }
        return owner
    }

    /// The root element's local name and namespace URI.
    public var root: (name: String, namespace: String?)? {
        guard let node = xmlDocGetRootElement(doc) else { return nil }
        let name = String(cString: UnsafeRawPointer(node.pointee.name).assumingMemoryBound(to: CChar.self))
        let ns = node.pointee.ns.flatMap { $0.pointee.href }.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        return (name, ns)
    }

    /// An XPath evaluator with the given prefix → namespace bindings.
    public func xpath(_ namespaces: [String: String]) -> XPathEvaluator {
        XPathEvaluator(doc: self, namespaces: namespaces)
    }
}

/// Scans the prolog (before the root element) for a DOCTYPE without parsing anything.
enum XMLProlog {
    static func refusal(in data: Data) -> FluxError? { scan(data).refusal }

    /// The DOCTYPE or UTF-16 refusal, if any, and whether the prolog ended within `data` (the
    /// root element, or anything that cannot be prolog, was reached).
    static func scan(_ data: Data) -> (refusal: FluxError?, complete: Bool) {
        // The prolog is XML declaration, comments, PIs and whitespace; a DOCTYPE can only be there.
        let limit = data.count  // the whole prolog: comments before a DOCTYPE must not hide it
        var i = data.startIndex
        let end = data.startIndex + limit
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { i += 3 }
        if data.starts(with: [0xFF, 0xFE]) || data.starts(with: [0xFE, 0xFF]) {
            return (FluxError("xml-encoding", "the XML must be UTF-8, it is UTF-16"), true)
        }
        while i < end {
            let b = data[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1; continue }
            guard b == UInt8(ascii: "<") else { return (nil, true) }
            guard i + 1 < end else { return (nil, false) }
            let n = data[i + 1]
            if n == UInt8(ascii: "?") {
                guard let close = find(data, "?>", from: i + 2, end: end) else { return (nil, false) }
                i = close + 2
            } else if n == UInt8(ascii: "!") {
                if data[i...].starts(with: Array("<!--".utf8)) {
                    guard let close = find(data, "-->", from: i + 4, end: end) else { return (nil, false) }
                    i = close + 3
                } else if end - i < 9, Array("<!DOCTYPE".utf8).starts(with: data[i..<end]) || Array("<!--".utf8).starts(with: data[i..<end]) {
                    return (nil, false)  // cut inside what may be a DOCTYPE or a comment: not decided yet
                } else {
                    return (FluxError("xml-dtd", "a DOCTYPE is not allowed in an invoice (DTDs and entities are refused)"), true)
                }
            } else {
                return (nil, true)
            }
        }
        return (nil, false)
    }

    private static func find(_ data: Data, _ needle: String, from: Int, end: Int) -> Int? {
        let n = Array(needle.utf8)
        var j = from
        while j + n.count <= end {
            if data[j] == n[0] && data[j..<(j + n.count)].elementsEqual(n) { return j }
            j += 1
        }
        return nil
    }
}
