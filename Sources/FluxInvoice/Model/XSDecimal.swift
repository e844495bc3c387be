import Foundation

/// `xs:decimal` reading and the XPath 2.0 arithmetic the official Schematrons use
/// (`round`, `round(x * 100) div 100`), on exact decimals (`XSDec`) so that no binary floating
/// point rounding sneaks in.
enum XSDecimal {
    /// The value of an `xs:decimal` lexical form (leading/trailing XML whitespace allowed), or
    /// nil when it is not one (`1e3`, `1,5`, empty...).
    static func parse(_ raw: String) -> XSDec? {
        var utf8 = raw.utf8[...]
        while let f = utf8.first, isSpace(f) { utf8 = utf8.dropFirst() }
        while let l = utf8.last, isSpace(l) { utf8 = utf8.dropLast() }
        guard !utf8.isEmpty else { return nil }
        var negative = false
        if let f = utf8.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var significant = 0
        var fraction = 0
        var seenDot = false
        var overflow = false
        for b in utf8 {
            if b == UInt8(ascii: ".") {
                if seenDot { return nil }
                seenDot = true
                continue
            }
            guard b >= 48 && b <= 57 else { return nil }
            digits += 1
            if seenDot { fraction += 1 }
            if significant > 0 || b != 48 { significant += 1 }
            if significant > 18 { overflow = true; continue }
            mantissa = mantissa &* 10 &+ UInt64(b - 48)
        }
        guard digits > 0 else { return nil }
        if overflow || fraction > XSDec.maxScale {
            // More than 18 significant digits or decimals: let Foundation do the long arithmetic.
            let text = (negative ? "-" : "") + String(decoding: utf8, as: UTF8.self)
            return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")).map(XSDec.init)
        }
        let units = Int64(mantissa)  // at most 18 digits: fits
        return XSDec(units: negative ? -units : units, scale: fraction)
    }

    /// XPath `fn:round` on a decimal: half-way values go toward positive infinity.
    static func round(_ x: XSDec) -> XSDec {
        (x + XSDec(units: 5, scale: 1)).floored()
    }

    /// `round(x * 100) div 100` — the official "round to two decimals" (the division by 100 is
    /// an exponent shift, exact and much cheaper than a division).
    static func round2(_ x: XSDec) -> XSDec {
        shift(round(shift(x, 2)), -2)
    }

    /// `x × 10^n` by moving the decimal point (exact).
    @inline(__always)
    static func shift(_ x: XSDec, _ n: Int) -> XSDec {
        x.shifted(by: n)
    }

    // MARK: xs:double (untyped values in arithmetic are cast to xs:double by XPath 2.0)

    /// `xs:double(s)` for a numeric lexical form (leading/trailing whitespace allowed).
    static func double(_ raw: String) -> Double? {
        Double(InvoiceModel.norm(raw))
    }

    /// xs:decimal promoted to xs:double: the nearest double (see `XSDec.doubleValue`; Foundation's
    /// `doubleValue` may be off by one ulp).
    static func toDouble(_ d: XSDec) -> Double {
        d.doubleValue
    }

    /// XPath `fn:round` on a double: half-way values go toward positive infinity.
    static func round(_ x: Double) -> Double {
        (x + 0.5).rounded(.down)
    }

    /// The exact value of a double as a decimal (Saxon casts xs:double to xs:decimal exactly,
    /// e.g. 1.005 → 1.00499999999999989…, which then rounds to 1.00, not 1.01).
    static func exactDecimal(_ d: Double) -> XSDec? {
        guard d.isFinite else { return nil }
        return Decimal(string: String(format: "%.30f", d), locale: Locale(identifier: "en_US_POSIX")).map(XSDec.init)
    }

    /// `string-length(substring-after(s, '.'))`: characters after the first dot (raw string).
    static func digitsAfterDot(_ s: String) -> Int {
        guard let dot = s.firstIndex(of: ".") else { return 0 }
        return s[s.index(after: dot)...].count
    }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
}
