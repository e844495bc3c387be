import Foundation

extension String {
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, without Foundation's NSString bridge
    /// in the common case: XML values rarely carry surrounding space, and the bridge was 5% of
    /// the validation profile. The answer is the same as Foundation's in every case: only
    /// strings whose first or last character may be whitespace take the slow path.
    public var trimmedWhitespace: String {
        guard let first = utf8.first, let last = utf8.last else { return "" }
        return FastTrim.plainEdge(first) && FastTrim.plainEdge(last) ? self : trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Substring {
    /// As `String.trimmedWhitespace`.
    public var trimmedWhitespace: String {
        guard let first = utf8.first, let last = utf8.last else { return "" }
        return FastTrim.plainEdge(first) && FastTrim.plainEdge(last) ? String(self) : trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

private enum FastTrim {
    /// A byte that can only start or end a non-whitespace character: printable ASCII (not the
    /// space). Non-ASCII bytes may be part of a Unicode space (U+00A0, U+2028...).
    @inline(__always)
    static func plainEdge(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }
}
