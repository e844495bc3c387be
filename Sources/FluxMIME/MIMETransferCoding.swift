import Foundation

/// Content-Transfer-Encoding codecs (RFC 2045 §6), on raw bytes.
///
/// Written by hand rather than with `Data(base64Encoded:options:)` because AS2 needs the middle
/// ground Foundation lacks: ignore line breaks and whitespace (76-column MIME lines) yet reject
/// any other stray byte, which `.ignoreUnknownCharacters` would silently drop.
public enum MIMETransferCoding {
    private static let invalid: UInt8 = 0xFF
    private static let skip: UInt8 = 0xFE
    private static let pad: UInt8 = 0xFD

    private static let base64Table: [UInt8] = {
        var t = [UInt8](repeating: invalid, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            t[Int(c)] = UInt8(i)
        }
        for c in [Byte.space, Byte.tab, Byte.cr, Byte.lf, 0x0B, 0x0C] { t[Int(c)] = skip }
        t[Int(Byte.equals)] = pad
        return t
    }()

    /// Decodes base64, ignoring SP, HT, CR, LF, VT and FF. Throws `mime-encoding` for any other
    /// non-alphabet byte, data after padding, or a dangling single character. Missing final
    /// padding is tolerated.
    public static func decodeBase64(_ data: Data) throws -> Data {
        let n = data.count
        if n == 0 { return Data() }
        var out = Data(count: n / 4 * 3 + 3)
        let written: Int = try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
            try out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in
                try base64Table.withUnsafeBufferPointer { (table: UnsafeBufferPointer<UInt8>) throws -> Int in
                    var o = 0
                    var quad: UInt32 = 0
                    var q = 0          // sextets in the current quantum
                    var pads = 0
                    for i in 0..<n {
                        let v = table[Int(src[i])]
                        if v < 64 {
                            if pads > 0 { throw MIMEError.encoding("base64 data after padding at offset \(i)") }
                            quad = quad << 6 | UInt32(v)
                            q += 1
                            if q == 4 {
                                dst[o] = UInt8(truncatingIfNeeded: quad >> 16)
                                dst[o + 1] = UInt8(truncatingIfNeeded: quad >> 8)
                                dst[o + 2] = UInt8(truncatingIfNeeded: quad)
                                o += 3
                                q = 0
                                quad = 0
                            }
                        } else if v == skip {
                            continue
                        } else if v == pad {
                            if q < 2 || q + pads >= 4 { throw MIMEError.encoding("misplaced base64 padding at offset \(i)") }
                            pads += 1
                        } else {
                            throw MIMEError.encoding("invalid base64 byte 0x\(String(src[i], radix: 16)) at offset \(i)")
                        }
                    }
                    switch q {
                    case 0: break
                    case 1: throw MIMEError.encoding("truncated base64 data")
                    case 2:
                        quad <<= 12
                        dst[o] = UInt8(truncatingIfNeeded: quad >> 16)
                        o += 1
                    default:   // 3
                        quad <<= 6
                        dst[o] = UInt8(truncatingIfNeeded: quad >> 16)
                        dst[o + 1] = UInt8(truncatingIfNeeded: quad >> 8)
                        o += 2
                    }
                    return o
                }
            }
        }
        out.count = written
        return out
    }

    /// Decodes quoted-printable: `=XX` (either hex case), soft line breaks `=` CRLF / `=` LF
    /// (also with whitespace between `=` and the break), and removes trailing whitespace before
    /// hard line breaks (RFC 2045 §6.7 rule 3: transport may add it). Hard line breaks are kept
    /// as received. Throws `mime-encoding` for `=` followed by anything else.
    public static func decodeQuotedPrintable(_ data: Data) throws -> Data {
        let n = data.count
        if n == 0 { return Data() }
        var out = Data(count: n)
        let written: Int = try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) throws -> Int in
            try out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) throws -> Int in
                var i = 0, o = 0
                while i < n {
                    let c = src[i]
                    if c == Byte.equals {
                        if i + 2 < n,
                           let h = hexValue(src[i + 1]), let l = hexValue(src[i + 2]) {
                            dst[o] = h << 4 | l
                            o += 1
                            i += 3
                            continue
                        }
                        // Soft line break: "=" [WSP...] (CRLF | LF | end of data).
                        var j = i + 1
                        while j < n, Byte.isWSP(src[j]) { j += 1 }
                        if j == n { i = n; continue }
                        if src[j] == Byte.lf { i = j + 1; continue }
                        if src[j] == Byte.cr, j + 1 < n, src[j + 1] == Byte.lf { i = j + 2; continue }
                        if src[j] == Byte.cr, j + 1 == n { i = n; continue }
                        throw MIMEError.encoding("invalid quoted-printable escape at offset \(i)")
                    } else if Byte.isWSP(c) {
                        var j = i
                        while j < n, Byte.isWSP(src[j]) { j += 1 }
                        let atBreak = j == n || src[j] == Byte.lf || (src[j] == Byte.cr && j + 1 < n && src[j + 1] == Byte.lf)
                        if !atBreak {
                            for k in i..<j { dst[o] = src[k]; o += 1 }
                        }
                        i = j
                    } else {
                        dst[o] = c
                        o += 1
                        i += 1
                    }
                }
                return o
            }
        }
        out.count = written
        return out
    }

    /// Base64 in MIME form: lines of at most `lineLength` characters (a multiple of 4 is
    /// rounded down), each ended by CRLF, the last one included. `lineLength` 0 means one line
    /// without a break.
    public static func encodeBase64(_ data: Data, lineLength: Int = 76) -> Data {
        let plain = data.base64EncodedData()
        guard lineLength > 0 else { return plain }
        let width = max(4, lineLength / 4 * 4)
        var out = Data(capacity: plain.count + (plain.count / width + 1) * 2)
        var i = plain.startIndex
        while i < plain.endIndex {
            let end = min(i + width, plain.endIndex)
            out.append(plain[i..<end])
            out.append(contentsOf: [Byte.cr, Byte.lf])
            i = end
        }
        return out
    }
}
