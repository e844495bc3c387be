import CFluxShims
import CLibXML2

/// Read-only access to the element tree of a parsed document, for the single-pass model
/// extractors. A `XNode` borrows a node of its `XMLDoc`: it is only valid while that
/// document is alive and never leaves the extraction call that created it.
struct XNode {
    let node: xmlNodePtr

    /// The namespace URIs the extractors compare against.
    enum NS {
        static let ram: StaticString = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
        static let rsm: StaticString = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
        static let udt: StaticString = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
        static let qdt: StaticString = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
        static let cbc: StaticString = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
        static let cac: StaticString = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    }

    /// Whether the element's local name is `name` (byte comparison, no allocation).
    @inline(__always)
    func named(_ name: StaticString) -> Bool {
        Self.equal(node.pointee.name, name)
    }

    /// Whether the element is in the namespace `uri`.
    @inline(__always)
    func inNamespace(_ uri: StaticString) -> Bool {
        guard let ns = node.pointee.ns, let href = ns.pointee.href else { return false }
        // Namespace URIs are long and share long prefixes (the UN/CEFACT ones differ only after
        // 37 bytes): glibc's vectorised strncmp, not a byte loop (scanning a CII tree spent
        // most of its time here).
        let n = uri.utf8CodeUnitCount
        return uri.utf8Start.withMemoryRebound(to: CChar.self, capacity: n) { q in
            UnsafeRawPointer(href).withMemoryRebound(to: CChar.self, capacity: n + 1) { strncmp($0, q, n) == 0 && $0[n] == 0 }
        }
    }

    /// Local name as a Swift string (for diagnostics and generic suffix checks).
    var localName: String {
        guard let n = node.pointee.name else { return "" }
        return String(cString: UnsafeRawPointer(n).assumingMemoryBound(to: CChar.self))
    }

    /// Whether the local name ends with `suffix`.
    func nameEnds(with suffix: StaticString) -> Bool {
        guard let n = node.pointee.name else { return false }
        let len = strlenX(n)
        let sl = suffix.utf8CodeUnitCount
        guard len >= sl else { return false }
        let s = suffix.utf8Start
        for i in 0..<sl where n[len - sl + i] != s[i] { return false }
        return true
    }

    /// The first line of the element in the source (for messages).
    var line: Int { Int(xmlGetLineNo(node)) }

    /// Calls `body` for every element child, in document order.
    @inline(__always)
    func forEachChild(_ body: (XNode) -> Void) {
        var c = node.pointee.children
        while let cur = c {
            if cur.pointee.type == XML_ELEMENT_NODE { body(XNode(node: cur)) }
            c = cur.pointee.next
        }
    }

    /// The first element child with this local name, if any.
    func child(_ name: StaticString) -> XNode? {
        var c = node.pointee.children
        while let cur = c {
            if cur.pointee.type == XML_ELEMENT_NODE, Self.equal(cur.pointee.name, name) { return XNode(node: cur) }
            c = cur.pointee.next
        }
        return nil
    }

    /// Whether the element has at least one element child.
    var hasElementChildren: Bool {
        var c = node.pointee.children
        while let cur = c {
            if cur.pointee.type == XML_ELEMENT_NODE { return true }
            c = cur.pointee.next
        }
        return false
    }

    /// The XPath string value (all descendant text), untrimmed. Fast path for the usual leaf
    /// element with one text node.
    var text: String {
        guard let first = node.pointee.children else { return "" }
        if first.pointee.next == nil, first.pointee.type == XML_TEXT_NODE || first.pointee.type == XML_CDATA_SECTION_NODE {
            guard let c = first.pointee.content else { return "" }
            return String(cString: UnsafeRawPointer(c).assumingMemoryBound(to: CChar.self))
        }
        guard let content = xmlNodeGetContent(node) else { return "" }
        defer { flux_xml_free(content) }
        return String(cString: UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
    }

    /// The value of the attribute `name` (no namespace), or nil when absent.
    func attribute(_ name: StaticString) -> String? {
        var a = node.pointee.properties
        while let attr = a {
            if attr.pointee.ns == nil, Self.equal(attr.pointee.name, name) {
                var out = ""
                var t = attr.pointee.children
                while let tn = t {
                    if let c = tn.pointee.content {
                        out += String(cString: UnsafeRawPointer(c).assumingMemoryBound(to: CChar.self))
                    }
                    t = tn.pointee.next
                }
                return out
            }
            a = attr.pointee.next
        }
        return nil
    }

    /// Whether the element carries the attribute `name` (no namespace).
    func hasAttribute(_ name: StaticString) -> Bool {
        var a = node.pointee.properties
        while let attr = a {
            if attr.pointee.ns == nil, Self.equal(attr.pointee.name, name) { return true }
            a = attr.pointee.next
        }
        return false
    }

    @inline(__always)
    static func equal(_ p: UnsafePointer<xmlChar>?, _ s: StaticString) -> Bool {
        guard let p else { return false }
        let q = s.utf8Start
        let n = s.utf8CodeUnitCount
        var i = 0
        while i < n {
            if p[i] != q[i] { return false }
            i += 1
        }
        return p[n] == 0
    }

    private func strlenX(_ p: UnsafePointer<xmlChar>) -> Int {
        var i = 0
        while p[i] != 0 { i += 1 }
        return i
    }
}

extension XMLDoc {
    /// The root element, for the tree-walking extractors.
    var rootElement: XNode? {
        xmlDocGetRootElement(doc).map(XNode.init(node:))
    }
}
