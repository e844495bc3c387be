import Foundation

/// Small byte-level helpers shared by the parsers. Everything here works on raw buffers so the
/// hot paths never convert bodies to `String` or append to `Data` byte by byte.
enum Byte {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let dash: UInt8 = 0x2D
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C
    static let semicolon: UInt8 = 0x3B
    static let equals: UInt8 = 0x3D
    static let comma: UInt8 = 0x2C
    static let slash: UInt8 = 0x2F

    @inline(__always) static func isWSP(_ b: UInt8) -> Bool { b == space || b == tab }
    /// Whitespace trimmed from header values: WSP plus stray CR/LF.
    @inline(__always) static func isTrim(_ b: UInt8) -> Bool { b == space || b == tab || b == cr || b == lf }
}

extension UnsafeRawBufferPointer {
    /// Index of the first `byte` in `from..<to`, via `memchr`.
    @inline(__always)
    func firstIndex(of byte: UInt8, from: Int, to: Int) -> Int? {
        guard from < to, let base = baseAddress else { return nil }
        guard let hit = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }
}

/// Header text from bytes: ASCII and valid UTF-8 as such, anything else as Latin-1 (every
/// byte maps to a character), so hostile bytes never fail or crash the parse.
func headerText(_ bytes: UnsafeRawBufferPointer) -> String {
    var ascii = true
    for b in bytes where b >= 0x80 { ascii = false; break }
    if ascii { return String(decoding: bytes, as: UTF8.self) }
    if let s = String(bytes: bytes, encoding: .utf8) { return s }
    return String(bytes: bytes, encoding: .isoLatin1) ?? String(decoding: bytes, as: UTF8.self)
}

func headerText(_ bytes: [UInt8]) -> String {
    bytes.withUnsafeBytes { headerText($0) }
}

/// ASCII case-insensitive comparison of two header names or tokens (no allocation).
func asciiEqualsIgnoringCase(_ a: String, _ b: String) -> Bool {
    let x = a.utf8, y = b.utf8
    guard x.count == y.count else { return false }
    for (p, q) in zip(x, y) where p != q {
        let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
        let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
        if lp != lq { return false }
    }
    return true
}

/// ASCII-only lowercasing (header tokens); leaves other characters alone.
func asciiLowercased(_ s: String) -> String {
    var needs = false
    for b in s.utf8 where b >= 0x41 && b <= 0x5A { needs = true; break }
    guard needs else { return s }
    return String(decoding: s.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
}

/// Trims SP, HT, CR and LF from both ends of a string.
func trimWSP(_ s: Substring) -> String {
    var u = s.utf8[...]
    while let f = u.first, Byte.isTrim(f) { u = u.dropFirst() }
    while let l = u.last, Byte.isTrim(l) { u = u.dropLast() }
    return String(Substring(u))
}

func trimWSP(_ s: String) -> String { trimWSP(s[...]) }

extension Data {
    /// This data with indices starting at 0: a `Data` slice keeps its parent's indices, and
    /// `raw[0]` on a slice is a classic crash, so everything FluxMIME hands out is rebased.
    var rebased: Data { startIndex == 0 ? self : Data(self) }
}
