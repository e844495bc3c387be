import CFluxShims
import CLibXML2
import FluxCore
import Foundation

/// Evaluates XPath 1.0 expressions against one `XMLDoc`; owns its libxml2 context.
public final class XPathEvaluator {
    private let doc: XMLDoc  // keeps the document alive as long as the context
    private let ctx: xmlXPathContextPtr

    init(doc: XMLDoc, namespaces: [String: String]) {
        self.doc = doc
        self.ctx = xmlXPathNewContext(doc.doc)
        for (prefix, uri) in namespaces {
            _ = xmlXPathRegisterNs(ctx, prefix, uri)
        }
    }

    deinit { xmlXPathFreeContext(ctx) }

    /// The trimmed string value of the first node matched, or nil when nothing or only blanks.
    public func string(_ expr: String) -> String? {
        strings(expr, max: 1).first
    }

    /// The trimmed string values of the nodes matched (at most `max`).
    public func strings(_ expr: String, max: Int = 1000) -> [String] {
        guard let obj = xmlXPathEvalExpression(expr, ctx) else { return [] }
        defer { xmlXPathFreeObject(obj) }
        switch obj.pointee.type {
        case XPATH_NODESET:
            guard let set = obj.pointee.nodesetval else { return [] }
            var out: [String] = []
            let n = Int(set.pointee.nodeNr)
            for i in 0..<min(n, max) {
                guard let node = set.pointee.nodeTab[i], let content = xmlNodeGetContent(node) else { continue }
                let s = String(cString: UnsafeRawPointer(content).assumingMemoryBound(to: CChar.self))
                flux_xml_free(content)
                let t = s.trimmedWhitespace
                if !t.isEmpty { out.append(t) }
            }
            return out
        case XPATH_STRING:
            guard let s = obj.pointee.stringval else { return [] }
            let t = String(cString: UnsafeRawPointer(s).assumingMemoryBound(to: CChar.self)).trimmedWhitespace
            return t.isEmpty ? [] : [t]
        case XPATH_NUMBER:
            return [String(obj.pointee.floatval)]
        default:
            return []
        }
    }

    /// How many nodes an expression matches.
    public func count(_ expr: String) -> Int {
        guard let obj = xmlXPathEvalExpression(expr, ctx) else { return 0 }
        defer { xmlXPathFreeObject(obj) }
        guard obj.pointee.type == XPATH_NODESET, let set = obj.pointee.nodesetval else { return 0 }
        return Int(set.pointee.nodeNr)
    }
}
