import FluxCore

/// The checks run on every invoice at intake. This is the seam where the full EN 16931 and
/// French rule sets plug in; for now it holds what routing and the journal cannot do without.
public enum InvoiceChecker {
    public static func check(_ f: InvoiceFacts) -> [Anomaly] {
        guard f.syntax.isInvoice else { return [] }
        var out: [Anomaly] = []
        func missing(_ rule: String, _ term: String) {
            out.append(Anomaly(rule: rule, reasonCode: "REJ_SEMAN", message: "\(term) is missing"))
        }
        if f.number == nil { missing("BR-02", "the invoice number (BT-1)") }
        if f.issueDate == nil { missing("BR-03", "the issue date (BT-2)") }
        if f.typeCode == nil { missing("BR-04", "the invoice type code (BT-3)") }
        if f.currency == nil { missing("BR-05", "the invoice currency (BT-5)") }
        if f.sellerName == nil { missing("BR-06", "the seller name (BT-27)") }
        if f.buyerName == nil { missing("BR-07", "the buyer name (BT-44)") }
        if f.totalWithVAT == nil { missing("BR-14", "the invoice total with VAT (BT-112)") }
        if f.seller == nil { missing("FLUX-SELLER-ID", "a seller identifier (BT-30, BT-31 or BT-29)") }
        if f.buyer == nil { missing("FLUX-BUYER-ID", "a buyer identifier (BT-47, BT-48 or BT-46)") }
        if let d = f.issueDate, !isISODate(d) {
            out.append(Anomaly(rule: "BR-03", reasonCode: "REJ_SEMAN", message: "the issue date (BT-2) '\(d)' is not a valid date"))
        }
        if let s = f.sellerSIREN, !Identifiers.isValidSIREN(s) {
            out.append(Anomaly(rule: "BR-FR-10", reasonCode: "REJ_SEMAN", message: "the seller SIREN '\(s)' is not 9 digits with a valid check digit"))
        }
        if let s = f.buyerSIREN, !Identifiers.isValidSIREN(s) {
            out.append(Anomaly(rule: "BR-FR-11", reasonCode: "REJ_SEMAN", message: "the buyer SIREN '\(s)' is not 9 digits with a valid check digit"))
        }
        return out
    }

    /// YYYY-MM-DD naming a real calendar day.
    static func isISODate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard s.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1900...2999).contains(y), (1...12).contains(m) else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return (1...days).contains(d)
    }
}
