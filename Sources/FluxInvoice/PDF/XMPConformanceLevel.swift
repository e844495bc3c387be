import CFluxShims
import FluxCore
import Foundation

/// Finds `ConformanceLevel` of the Factur-X / ZUGFeRD XMP schema in a PDF's XMP packet, by
/// scanning bytes: the XMP is only informative here (the XML's guideline id is what counts),
/// so a full RDF parse would buy nothing. The property is accepted as an element
/// (`<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>`) or as an attribute
/// (`fx:ConformanceLevel="EN 16931"`), under any prefix bound to one of `namespaces`.
///
/// Works on bytes, not `String`: every needle is ASCII, and ASCII bytes never occur inside a
/// multi-byte UTF-8 sequence. The `String.UTF8View` version was 8% of the Factur-X profile; the
/// byte loops that replaced it were still 4%, hence `memmem` (through CFluxShims)/`memchr` (glibc's vectorised ones)
/// and no Foundation string replacing unless the value holds an entity.
enum XMPConformanceLevel {
    /// Factur-X 1.0, ZUGFeRD 2.x and ZUGFeRD 1.0 XMP namespaces.
    static let namespaces: Set<String> = [
        "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
        "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#",
        "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#",
    ]

    /// The level (trimmed, basic entities decoded), nil when none is found.
    static func find(in xmp: Data) -> String? {
        xmp.withUnsafeBytes { raw in
            let text = raw.bindMemory(to: UInt8.self)
            for prefix in prefixes(in: text) {
                let qname = prefix + Array(":ConformanceLevel".utf8)
                if let v = element(qname, in: text) ?? attribute(qname, in: text) { return v }
            }
            return nil
        }
    }

    private typealias Bytes = UnsafeBufferPointer<UInt8>

    /// Prefixes declared with `xmlns:p="…"` for one of the accepted namespaces, in order.
    private static func prefixes(in text: Bytes) -> [[UInt8]] {
        var found: [[UInt8]] = []
        var cursor = 0
        while let hit = search(Array("xmlns:".utf8), in: text, from: cursor) {
            cursor = hit + 6
            var end = cursor
            while end < text.count, !isSpace(text[end]), text[end] != UInt8(ascii: "="), text[end] != UInt8(ascii: ">"), text[end] != UInt8(ascii: "/") {
                end += 1
            }
            guard end > cursor, let value = quotedValue(after: end, in: text) else { continue }
            let prefix = Array(text[cursor..<end])
            if namespaces.contains(String(decoding: text[value], as: UTF8.self)), !found.contains(prefix) { found.append(prefix) }
        }
        return found
    }

    /// Text content of the first `<qname>` / `<qname …>` element.
    private static func element(_ qname: [UInt8], in text: Bytes) -> String? {
        let needle = [UInt8(ascii: "<")] + qname
        var cursor = 0
        while let hit = search(needle, in: text, from: cursor) {
            cursor = hit + needle.count
            guard cursor < text.count else { return nil }
            guard text[cursor] == UInt8(ascii: ">") || isSpace(text[cursor]) else { continue }
            guard let close = firstIndex(of: UInt8(ascii: ">"), in: text, from: cursor) else { return nil }
            if text[close - 1] == UInt8(ascii: "/") { continue } // empty element
            let end = firstIndex(of: UInt8(ascii: "<"), in: text, from: close + 1) ?? text.count
            return clean(text[(close + 1)..<end])
        }
        return nil
    }

    /// Value of the first `qname="…"` attribute (also with single quotes).
    private static func attribute(_ qname: [UInt8], in text: Bytes) -> String? {
        var cursor = 0
        while let hit = search(qname, in: text, from: cursor) {
            cursor = hit + qname.count
            guard hit > 0, isSpace(text[hit - 1]) else { continue }
            if let value = quotedValue(after: cursor, in: text) { return clean(text[value]) }
        }
        return nil
    }

    /// The range of `value` in `␣*=␣*"value"` (or single quotes) starting at `i`.
    private static func quotedValue(after i: Int, in text: Bytes) -> Range<Int>? {
        var i = i
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == UInt8(ascii: "=") else { return nil }
        i += 1
        while i < text.count, isSpace(text[i]) { i += 1 }
        guard i < text.count, text[i] == UInt8(ascii: "\"") || text[i] == UInt8(ascii: "'") else { return nil }
        guard let end = firstIndex(of: text[i], in: text, from: i + 1) else { return nil }
        return (i + 1)..<end
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C
    }

    private static func firstIndex(of byte: UInt8, in text: Bytes, from start: Int) -> Int? {
        guard let base = text.baseAddress, start >= 0, start < text.count,
              let hit = memchr(base + start, Int32(byte), text.count - start) else { return nil }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    private static func search(_ needle: [UInt8], in text: Bytes, from start: Int) -> Int? {
        guard let base = text.baseAddress, !needle.isEmpty, start >= 0, start < text.count else { return nil }
        let hit = needle.withUnsafeBytes { n in flux_memmem(base + start, text.count - start, n.baseAddress, n.count) }
        return hit.map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
    }

    private static func clean(_ s: Slice<Bytes>) -> String? {
        let raw = String(decoding: s, as: UTF8.self).trimmedWhitespace
        guard raw.utf8.contains(UInt8(ascii: "&")) else { return raw.isEmpty ? nil : raw }
        let v = raw
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
        return v.isEmpty ? nil : v
    }
}
