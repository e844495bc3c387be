import Foundation

/// Finds `ConformanceLevel` of the Factur-X / ZUGFeRD XMP schema in a PDF's XMP packet, by
/// string scanning: the XMP is only informative here (the XML's guideline id is what counts),
/// so a full RDF parse would buy nothing. The property is accepted as an element
/// (`<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>`) or as an attribute
/// (`fx:ConformanceLevel="EN 16931"`), under any prefix bound to one of `namespaces`.
enum XMPConformanceLevel {
    /// Factur-X 1.0, ZUGFeRD 2.x and ZUGFeRD 1.0 XMP namespaces.
    static let namespaces: Set<String> = [
        "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#",
        "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#",
    ]

    /// The level (trimmed, basic entities decoded), nil when none is found.
    static func find(in xmp: Data) -> String? {
        let text = String(decoding: xmp, as: UTF8.self)
        for prefix in prefixes(in: text) {
            if let v = element(prefix + ":ConformanceLevel", in: text) ?? attribute(prefix + ":ConformanceLevel", in: text) {
                return v
            }
        }
        return nil
    }

    /// Prefixes declared with `xmlns:p="…"` for one of the accepted namespaces, in order.
    static func prefixes(in text: String) -> [String] {
        var found: [String] = []
        var cursor = text.startIndex
        while let r = text.asciiRange(of: "xmlns:", from: cursor) {
            cursor = r.upperBound
            let prefix = text[r.upperBound...].prefix { !$0.isWhitespace && $0 != "=" && $0 != ">" && $0 != "/" }
            guard !prefix.isEmpty, let value = quotedValue(after: prefix.endIndex, in: text) else { continue }
            if namespaces.contains(value), !found.contains(String(prefix)) { found.append(String(prefix)) }
        }
        return found
    }

    /// Text content of the first `<qname>` / `<qname …>` element.
    static func element(_ qname: String, in text: String) -> String? {
        var cursor = text.startIndex
        while let r = text.asciiRange(of: "<" + qname, from: cursor) {
            cursor = r.upperBound
            guard r.upperBound < text.endIndex else { return nil }
            let next = text[r.upperBound]
            guard next == ">" || next.isWhitespace else { continue }
            guard let close = text.asciiRange(of: ">", from: r.upperBound) else { return nil }
            if text[text.index(before: close.lowerBound)] == "/" { continue } // empty element
            let content = text[close.upperBound...].prefix { $0 != "<" }
            return clean(content)
        }
        return nil
    }

    /// Value of the first `qname="…"` attribute (also with single quotes).
    static func attribute(_ qname: String, in text: String) -> String? {
        var cursor = text.startIndex
        while let r = text.asciiRange(of: qname, from: cursor) {
            cursor = r.upperBound
            guard r.lowerBound > text.startIndex, text[text.index(before: r.lowerBound)].isWhitespace else { continue }
            if let v = quotedValue(after: r.upperBound, in: text) { return clean(Substring(v)) }
        }
        return nil
    }

    /// `␣*=␣*"value"` (or single quotes) starting at `i`.
    private static func quotedValue(after i: String.Index, in text: String) -> String? {
        var i = i
        func skipSpace() { while i < text.endIndex, text[i].isWhitespace { i = text.index(after: i) } }
        skipSpace()
        guard i < text.endIndex, text[i] == "=" else { return nil }
        i = text.index(after: i)
        skipSpace()
        guard i < text.endIndex, text[i] == "\"" || text[i] == "'" else { return nil }
        let quote = text[i]
        let start = text.index(after: i)
        guard let end = text[start...].firstIndex(of: quote) else { return nil }
        return String(text[start..<end])
    }

    private static func clean(_ s: Substring) -> String? {
        let v = s.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
        return v.isEmpty ? nil : v
    }
}

extension String {
    /// Byte search for an ASCII needle: Foundation's `range(of:)` bridges through NSString and
    /// was the top of the PDF profile. ASCII bytes never occur inside a multi-byte UTF-8
    /// sequence, so a match always starts and ends on character boundaries.
    func asciiRange(of needle: String, from start: String.Index) -> Range<String.Index>? {
        let n = Array(needle.utf8)
        guard let first = n.first else { return nil }
        let u = utf8
        var i = start
        while i < u.endIndex {
            guard let hit = u[i...].firstIndex(of: first) else { return nil }
            var j = hit
            var k = 0
            while k < n.count, j < u.endIndex, u[j] == n[k] { j = u.index(after: j); k += 1 }
            if k == n.count { return hit..<j }
            i = u.index(after: hit)
        }
        return nil
    }
}
