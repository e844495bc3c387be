import FluxCore
import Testing

@Suite("French identifiers")
struct IdentifiersTests {
    @Test("SIREN: 9 digits with a Luhn check digit", arguments: [
        ("100000009", true),
        ("200000008", true),
        ("356000000", true),    // La Poste
        ("100000008", false),   // wrong check digit
        ("10000009", false),    // 8 digits
        ("1000000090", false),  // 10 digits
        ("", false),
        ("10000000A", false),
        (" 100000009", false),
        ("١٠٠٠٠٠٠٠٩", false),   // Arabic-Indic digits are not ASCII digits
    ])
    func siren(value: String, valid: Bool) {
        #expect(Identifiers.isValidSIREN(value) == valid, "\(value)")
    }

    @Test("SIRET: 14 digits with a Luhn check digit", arguments: [
        ("10000000900017", true),
        ("20000000800017", true),
        ("10000000900018", false),
        ("1000000090001", false),   // 13 digits
        ("100000009000170", false), // 15 digits
        ("1000000090001X", false),
    ])
    func siret(value: String, valid: Bool) {
        #expect(Identifiers.isValidSIRET(value) == valid, "\(value)")
    }

    @Test("SIRET of La Poste (SIREN 356000000): head office by Luhn, establishments by digit sum mod 5")
    func laPoste() {
        // Head office: Luhn-valid, digit sum 26 (not a multiple of 5).
        #expect(Identifiers.isValidSIRET("35600000000048"))
        // Establishment: digit sum 20, Luhn fails, valid under the La Poste rule.
        #expect(Identifiers.isValidSIRET("35600000010014"))
        // Digit sum 15 (and Luhn-valid too).
        #expect(Identifiers.isValidSIRET("35600000010005"))
        // Luhn-valid but digit sum 19: the La Poste rule replaces Luhn, so invalid.
        #expect(!Identifiers.isValidSIRET("35600000010013"))
        // Neither rule.
        #expect(!Identifiers.isValidSIRET("35600000010001"))   // digit sum 16, Luhn fails
    }

    @Test("French VAT number from a SIREN: FR + key + SIREN")
    func vatNumber() {
        #expect(Identifiers.frenchVATNumber(siren: "100000009") == "FR88100000009")
        #expect(Identifiers.frenchVATNumber(siren: "200000008") == "FR37200000008")
        // A key below 10 is zero-padded: 62 mod 97 = 62 → (12 + 186) mod 97 = 4.
        #expect(Identifiers.frenchVATNumber(siren: "000000062") == "FR04000000062")
        #expect(Identifiers.frenchVATNumber(siren: "10000000") == nil)
        #expect(Identifiers.frenchVATNumber(siren: "10000000X") == nil)
    }

    @Test("French VAT number from a 9-character string that is not 9 digits: nil")
    func vatNumberNonDigits() {
        #expect(Identifiers.frenchVATNumber(siren: "+10000000") == nil)
        #expect(Identifiers.frenchVATNumber(siren: "-10000000") == nil)
        #expect(Identifiers.frenchVATNumber(siren: " 10000000") == nil)
    }

    @Test("French VAT number check")
    func vatCheck() {
        #expect(Identifiers.isValidFrenchVAT("FR88100000009"))
        #expect(Identifiers.isValidFrenchVAT("FR37200000008"))
        #expect(!Identifiers.isValidFrenchVAT("FR89100000009"))   // wrong key
        #expect(!Identifiers.isValidFrenchVAT("FR88100000008"))   // SIREN fails Luhn
        #expect(!Identifiers.isValidFrenchVAT("DE88100000009"))   // not French
        #expect(!Identifiers.isValidFrenchVAT("FR8810000000"))    // too short
        #expect(!Identifiers.isValidFrenchVAT("FR881000000090"))  // too long
        // Every generated number checks.
        for siren in ["100000009", "200000008", "356000000"] {
            let vat = Identifiers.frenchVATNumber(siren: siren)
            #expect(vat.map(Identifiers.isValidFrenchVAT) == true, "\(siren)")
        }
    }

    @Test("isASCIIDigit accepts only 0-9")
    func asciiDigit() {
        #expect("0123456789".allSatisfy { $0.isASCIIDigit })
        #expect(!Character("٣").isASCIIDigit)
        #expect(!Character("a").isASCIIDigit)
        #expect(!Character("½").isASCIIDigit)
    }
}
