import FluxCore
import Foundation

/// The profile an invoice claims in BT-24 (specification identifier), read as a Factur-X /
/// ZUGFeRD profile or a known CIUS (EINVOICING.md §4). Only exposed: the Factur-X Schematron
/// (FX-SCH-*) is not reproduced by the gateway.
public enum FacturXProfile: String, Sendable, Codable, Equatable, CaseIterable {
    case minimum = "MINIMUM"
    case basicWL = "BASIC WL"
    case basic = "BASIC"
    case en16931 = "EN 16931"
    case extended = "EXTENDED"
    /// `urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr` (French CTC).
    case extendedCTCFR = "EXTENDED-CTC-FR"
    /// German XRechnung CIUS (`…#compliant#urn:xoev-de:kosit:standard:xrechnung_…`).
    case xrechnung = "XRECHNUNG"
    /// ZUGFeRD 2.0 "comfort" (`urn:ferd:CrossIndustryDocument:invoice:1p0:comfort`), EN 16931 level.
    case zugferdComfort = "ZUGFERD COMFORT"
    /// Peppol BIS Billing 3.0 (`…#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0`).
    case peppolBIS = "PEPPOL BIS 3"
    /// Another CIUS or extension of EN 16931 (`urn:cen.eu:en16931:2017#…`).
    case otherEN16931 = "OTHER EN 16931"
    /// Anything else, or no BT-24 at all.
    case other = "OTHER"

    /// Reads BT-24. Matching is exact on the known ids (trimmed), then by family.
    public static func from(guideline: String?) -> FacturXProfile {
        guard let raw = guideline?.trimmedWhitespace, !raw.isEmpty else { return .other }
        switch raw {
        case "urn:factur-x.eu:1p0:minimum": return .minimum
        case "urn:factur-x.eu:1p0:basicwl": return .basicWL
        case "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": return .basic
        case "urn:cen.eu:en16931:2017": return .en16931
        case "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": return .extended
        case "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr": return .extendedCTCFR
        case "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort": return .zugferdComfort
        default: break
        }
        if raw.contains("xrechnung") { return .xrechnung }
        if raw.contains("urn:fdc:peppol.eu:2017:poacc:billing:3.0") { return .peppolBIS }
        if raw.contains("urn:factur-x.eu:1p0:extended") { return .extended }
        if raw.contains("extended-ctc-fr") { return .extendedCTCFR }
        if raw.hasPrefix("urn:cen.eu:en16931:2017") { return .otherEN16931 }
        return .other
    }

    /// Whether the profile carries a full EN 16931 invoice (lines, totals, VAT breakdown).
    public var isEN16931Level: Bool {
        switch self {
        case .minimum, .basicWL, .other: return false
        default: return true
        }
    }
}
