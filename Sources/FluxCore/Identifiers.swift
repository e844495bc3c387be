/// French company identifiers. The official rules only check lengths; the gateway also checks
/// the check digits so that a typo is caught before a platform routes on it.
public enum Identifiers {
    /// SIREN: 9 digits, Luhn.
    public static func isValidSIREN(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { $0.count == 9 && allDigits($0) && luhn($0) }
    }

    /// SIRET: SIREN + 5-digit NIC, Luhn over 14 digits; La Poste (356000000) uses
    /// "sum of digits is a multiple of 5" for its establishments.
    public static func isValidSIRET(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { u in
            guard u.count == 14, allDigits(u) else { return false }
            if u.starts(with: "356000000".utf8), !u.elementsEqual("35600000000048".utf8) {
                return u.reduce(0) { $0 + Int($1 &- 0x30) } % 5 == 0
            }
            return luhn(u)
        }
    }

    /// The French VAT number for a SIREN: FR + key + SIREN, key = (12 + 3 × (SIREN mod 97)) mod 97.
    public static func frenchVATNumber(siren: String) -> String? {
        guard let key = vatKey(siren: siren) else { return nil }
        return "FR" + (key < 10 ? "0" : "") + String(key) + siren
    }

    /// Whether a French VAT number has the right numeric key for its SIREN.
    public static func isValidFrenchVAT(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { u in
            guard u.count == 13, u[0] == UInt8(ascii: "F"), u[1] == UInt8(ascii: "R") else { return false }
            let siren = UnsafeBufferPointer(rebasing: u[4...])
            guard allDigits(siren), luhn(siren) else { return false }
            guard isDigit(u[2]), isDigit(u[3]) else { return true }  // older alphanumeric keys: not checkable
            return Int(u[2] &- 0x30) * 10 + Int(u[3] &- 0x30) == vatKey(digits: siren)
        }
    }

    private static func vatKey(siren: String) -> Int? {
        var s = siren
        return s.withUTF8 { u in u.count == 9 && allDigits(u) ? vatKey(digits: u) : nil }
    }

    private static func vatKey(digits: UnsafeBufferPointer<UInt8>) -> Int {
        let n = digits.reduce(0) { $0 * 10 + Int($1 &- 0x30) }
        return (12 + 3 * (n % 97)) % 97
    }

    // Identifiers are ASCII digits only (`Character.isNumber` would take other scripts' digits):
    // checked on the UTF-8 bytes, where the Character properties were most of the rule's time.
    private static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    private static func allDigits(_ u: UnsafeBufferPointer<UInt8>) -> Bool { u.allSatisfy(isDigit) }

    static func luhn(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { allDigits($0) && luhn($0) }
    }

    /// Luhn over ASCII digits (the caller has checked they are digits).
    private static func luhn(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
        var sum = 0
        for (i, b) in u.reversed().enumerated() {
            var d = Int(b &- 0x30)
            if i % 2 == 1 { d *= 2; if d > 9 { d -= 9 } }
            sum += d
        }
        return sum % 10 == 0
    }
}

extension Character {
    /// ASCII 0-9 only: `isNumber` accepts other scripts' digits, which no identifier uses.
    public var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
