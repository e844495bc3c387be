import FluxCore
import Foundation

/// The gateway's own identifier checks, beyond the official rules (which only check lengths):
/// SIREN and SIRET check digits (Luhn, La Poste exception) and the French VAT number key.
/// SIRENs are the scheme 0002 identifiers of any party, plus the scheme-less 9-digit legal
/// registration identifier of a seller or buyer whose address is in France.
/// Format errors (wrong length) are left to the official BR-FR-09/10/32 rules; these fire only
/// on well-formed values whose check digits are wrong.
enum IdentifierRules {
    static let ruleIDs: [String] = ["FLUX-SIREN-KEY", "FLUX-SIRET-KEY", "FLUX-VAT-KEY"]

    typealias M = InvoiceModel

    static func check(_ c: RuleContext) {
        let m = c.model, p = c.paths
        var parties: [M.Party] = [m.seller, m.buyer, m.payee, m.taxRepresentative].compactMap { $0 }
        parties += m.otherParties
        parties += m.lines.compactMap(\.shipTo)
        var seen = Set<String>()
        func once(_ key: String) -> Bool { seen.insert(key).inserted }

        for party in parties {
            func at() -> String { p.party(party.role) }
            // SIREN: any scheme 0002 identifier; for seller and buyer also a scheme-less legal id of 9 digits.
            var sirens = party.legalIDs.filter { $0.scheme == "0002" }.map(\.value)
            sirens += party.identifiers.filter { $0.scheme == "0002" }.map(\.value)
            // A scheme-less 9-digit legal id is read as a SIREN only for a French seller or buyer
            // (a Norwegian organisation number also has 9 digits, with another check digit).
            if party.role == .seller || party.role == .buyer, norm(party.address?.country) == "FR" {
                sirens += party.legalIDs.filter { $0.scheme == nil }.map(\.value)
            }
            for s in sirens.map(norm) where nineDigits(s) && !Identifiers.isValidSIREN(s) && once("siren:\(s)") {
                c.fail("FLUX-SIREN-KEY", .semantic, "the SIREN '\(s)' has a wrong check digit (Luhn)", at: at())
            }
            for s in party.identifiers.filter({ $0.scheme == "0009" }).map({ norm($0.value) })
            where s.utf8.count == 14 && s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) && !Identifiers.isValidSIRET(s) && once("siret:\(s)") {
                c.fail("FLUX-SIRET-KEY", .semantic, "the SIRET '\(s)' has a wrong check digit", at: at())
            }
            for v in party.taxRegistrations.map({ norm($0.value) }) where looksFrenchVAT(v) && !Identifiers.isValidFrenchVAT(v) && once("vat:\(v)") {
                c.fail("FLUX-VAT-KEY", .semantic, "the French VAT number '\(v)' has a key that does not match its SIREN (or an invalid SIREN)", at: at())
            }
        }
    }

    static func nineDigits(_ s: String) -> Bool { s.utf8.count == 9 && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    /// FR + 2 key characters + 9 digits.
    static func looksFrenchVAT(_ s: String) -> Bool {
        guard s.hasPrefix("FR"), s.utf8.count == 13 else { return false }
        return nineDigits(String(s.suffix(9)))
    }
}
