/// French company identifiers. The official rules only check lengths; the gateway also checks
/// the check digits so that a typo is caught before a platform routes on it.
public enum Identifiers {
    /// SIREN: 9 digits, Luhn.
    public static func isValidSIREN(_ s: String) -> Bool {
        s.count == 9 && s.allSatisfy(\.isASCIIDigit) && luhn(s)
    }

    /// SIRET: SIREN + 5-digit NIC, Luhn over 14 digits; La Poste (356000000) uses
    /// "sum of digits is a multiple of 5" for its establishments.
    public static func isValidSIRET(_ s: String) -> Bool {
        guard s.count == 14, s.allSatisfy(\.isASCIIDigit) else { return false }
        if s.hasPrefix("356000000") && s != "35600000000048" {
            return s.compactMap(\.wholeNumberValue).reduce(0, +) % 5 == 0
        }
        return luhn(s)
    }

    /// The French VAT number for a SIREN: FR + key + SIREN, key = (12 + 3 × (SIREN mod 97)) mod 97.
    public static func frenchVATNumber(siren: String) -> String? {
        guard siren.count == 9, siren.allSatisfy(\.isASCIIDigit), let n = Int(siren) else { return nil }
        let key = (12 + 3 * (n % 97)) % 97
        return "FR" + (key < 10 ? "0" : "") + String(key) + siren
    }

    /// Whether a French VAT number has the right numeric key for its SIREN.
    public static func isValidFrenchVAT(_ s: String) -> Bool {
        guard s.count == 13, s.hasPrefix("FR") else { return false }
        let siren = String(s.suffix(9))
        guard isValidSIREN(siren) else { return false }
        let key = s.dropFirst(2).prefix(2)
        guard key.allSatisfy(\.isASCIIDigit) else { return true }  // older alphanumeric keys: not checkable
        return frenchVATNumber(siren: siren) == s
    }

    static func luhn(_ s: String) -> Bool {
        var sum = 0
        for (i, ch) in s.reversed().enumerated() {
            guard var d = ch.wholeNumberValue else { return false }
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
