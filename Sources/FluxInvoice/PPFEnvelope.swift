import FluxCore

/// The PPF flux naming (DSE v3.1 §3.4.6): `<INTERFACE 8>_<APPCODE 6>_<FLUXID 25>.tar.gz`, with
/// FLUXID = the sender's application code (6) + a 19-character sequence in [0-9A-Z]. A deposit
/// whose name starts like an interface code is held to the whole convention; any other name is
/// an ordinary deposit.
public struct PPFEnvelope: Sendable, Equatable {
    public var interface: String
    public var applicationCode: String
    public var fluxID: String

    /// What each known interface carries.
    public enum Content: Sendable, Equatable {
        case f1(InvoiceSyntax)    // regulatory data, members Base_*.xml / Full_*.xml
        case lifecycle            // CDAR
        case other(String)        // F10, F13, F14: specific XML the gateway does not read
    }

    public static let interfaces: [String: (label: String, content: Content)] = [
        "FFE0111A": ("F1 regulatory data, UBL", .f1(.ublInvoice)),
        "FFE0112A": ("F1 regulatory data, CII", .f1(.cii)),
        "FFE0614A": ("F6 invoice lifecycle", .lifecycle),
        "FFE0604A": ("F6 lifecycle of regulatory data", .lifecycle),
        "FFE0654A": ("F6 mandatory statuses", .lifecycle),
        "FFE0624A": ("F6 lifecycle of transaction and payment data", .lifecycle),
        "FFE0634A": ("F6 lifecycle of directory updates", .lifecycle),
        "FFE1025A": ("F10 transaction and payment data", .other("F10")),
        "FFE1235A": ("F13 directory update", .other("F13")),
        "FFE1435A": ("F14 directory export", .other("F14")),
    ]

    public var content: Content? { Self.interfaces[interface]?.content }

    /// Whether the envelope carries F1 regulatory data.
    public var isF1: Bool {
        if case .f1 = content { return true }
        return false
    }
    public var label: String { Self.interfaces[interface]?.label ?? interface }

    /// Whether a file name claims to be a PPF envelope (starts with an interface-code shape).
    public static func looksLikeEnvelope(_ name: String) -> Bool {
        let a = Array(name.utf8)
        guard a.count >= 8 else { return false }
        func upper(_ c: UInt8) -> Bool { c >= 65 && c <= 90 }
        func digit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        return (a[0] == UInt8(ascii: "F") || a[0] == UInt8(ascii: "C")) && upper(a[1]) && upper(a[2])
            && a[3...6].allSatisfy(digit) && upper(a[7])
    }

    /// Parses an envelope name, or explains with the PPF reason why it is not a valid one.
    public static func parse(_ name: String) -> Result<PPFEnvelope, Anomaly> {
        func refuse(_ code: String, _ why: String) -> Result<PPFEnvelope, Anomaly> {
            .failure(Anomaly(rule: "PPF-ENVELOPE", reasonCode: code, message: "'\(name)': \(why)"))
        }
        guard name.hasSuffix(".tar.gz") else {
            return refuse("IRR_FORM", "a PPF flux must be a .tar.gz named <INTERFACE>_<APPCODE>_<FLUXID>.tar.gz")
        }
        let stem = String(name.dropLast(7))
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0].count == 8, parts[1].count == 6, parts[2].count == 25 else {
            return refuse("IRR_FORM", "the name must be <INTERFACE 8>_<APPCODE 6>_<FLUXID 25>.tar.gz")
        }
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        guard parts.allSatisfy({ $0.allSatisfy { allowed.contains($0) } }) else {
            return refuse("IRR_FORM", "the name may hold only A-Z and 0-9 between its underscores")
        }
        guard interfaces[parts[0]] != nil else {
            return refuse("IRR_CODE_INTER", "unknown interface code \(parts[0])")
        }
        return .success(PPFEnvelope(interface: parts[0], applicationCode: parts[1], fluxID: parts[2]))
    }

    /// Checks one member of the envelope: its name (F1: `Base_*.xml` / `Full_*.xml`) and that its
    /// syntax is the interface's (one nature and format per flux).
    public func check(memberName: String, syntax: InvoiceSyntax) -> Anomaly? {
        let base = memberName.split(separator: "/").last.map(String.init) ?? memberName
        switch content {
        case .f1(let expected):
            if !(base.hasPrefix("Base_") || base.hasPrefix("Full_")) || !base.hasSuffix(".xml") {
                return Anomaly(rule: "PPF-MEMBER-NAME", reasonCode: "IRR_NOM_F", message: "member '\(memberName)' of an F1 flux must be named Base_<name>.xml or Full_<name>.xml")
            }
            let ok = expected == .cii ? syntax == .cii : (syntax == .ublInvoice || syntax == .ublCreditNote)
            if !ok {
                return Anomaly(rule: "PPF-MEMBER-TYPE", reasonCode: "IRR_TYPE_F", message: "member '\(memberName)' is \(syntax.rawValue) but \(interface) carries \(label)")
            }
        case .lifecycle:
            if syntax != .cdar {
                return Anomaly(rule: "PPF-MEMBER-TYPE", reasonCode: "IRR_TYPE_F", message: "member '\(memberName)' is \(syntax.rawValue) but \(interface) carries CDAR lifecycle messages")
            }
        case .other(let f):
            return Anomaly(rule: "PPF-INTERFACE", reasonCode: "IRR_CODE_INTER", message: "\(interface) (\(f)) fluxes are not accepted by this gateway")
        case .none:
            return Anomaly(rule: "PPF-INTERFACE", reasonCode: "IRR_CODE_INTER", message: "unknown interface code \(interface)")
        }
        return nil
    }
}

