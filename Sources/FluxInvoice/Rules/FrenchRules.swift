import CFluxShims
import Foundation

/// French CTC rules of the FNFE "BR-FR Flux 2" Schematron v1.4.0.03 (BR-FR-01..BR-FR-32), with
/// the ids of each syntax's artefact (the CII and UBL files number them differently, e.g.
/// `BR-FR-05_BT-22_PMT` in CII and `BR-FR-05_BT-22-1` in UBL).
enum FrenchRules {
    typealias M = InvoiceModel

    static let ciiIDs: [String] = [
        "BR-FR-01_BT-1", "BR-FR-02_BT-1", "BR-FR-01_BT-25", "BR-FR-02_BT-25", "BR-FR-01_EXT-FR-FE-136", "BR-FR-02_EXT-FR-FE-136",
        "BR-FR-03_BT-2", "BR-FR-03_BT-7", "BR-FR-03_BT-9", "BR-FR-03_BT-26", "BR-FR-03_BT-72", "BR-FR-03_BT-73", "BR-FR-03_BT-74",
        "BR-FR-03_EXT-FR-FE-138", "BR-FR-03_EXT-FR-FE-158", "BR-FR-03_EXT-FR-FE-134", "BR-FR-03_EXT-FR-FE-135",
        "BR-FR-04_BT-3", "BR-FR-04_EXT-FR-FE-02", "BR-FR-04_EXT-FR-FE-137",
        "BR-FR-05_BT-22_PMT", "BR-FR-05_BT-22_PMD", "BR-FR-05_BT-22_AAB",
        "BR-FR-06_BT-21_PMT", "BR-FR-06_BT-21_PMD", "BR-FR-06_BT-21_AAB", "BR-FR-06_BT-21_TXD",
        "BR-FR-08_BT-23", "BR-FR-10_BT-30", "BR-FR-11_BT-47", "BR-FR-12_BT-49", "BR-FR-13_BT-34",
        "BR-FR-15_BT-95_BT-102", "BR-FR-15_BT-95_BT-102_LM", "BR-FR-15_BT-95_BT-118", "BR-FR-15_BT-95_BT-118_LM",
        "BR-FR-15_BT-95_BT-151", "BR-FR-15_BT-95_BT-151_LM",
        "BR-FR-16_BT-96_BT-103", "BR-FR-16_BT-119", "BR-FR-16_BT-152",
        "BR-FR-17_BT-123", "BR-FR-18_BT-123", "BR-FR-20_BT-21", "BR-FR-21_BT-49", "BR-FR-22_BT-34",
        "BR-FR-24_BT-29", "BR-FR-24_BT-46", "BR-FR-26_BT-29", "BR-FR-26_BT-46",
        "BR-FR-29_BT-18", "BR-FR-29_AFL", "BR-FR-29_AVV", "BR-FR-31_BT-21", "BR-FR-32-LEGALID", "BR-FR-32-GLOBALID",
    ]
    static let ublIDs: [String] = [
        "BR-FR-01_BT-1-1", "BR-FR-01_BT-1-2", "BR-FR-02_BT-1", "BR-FR-01_BT-25-1", "BR-FR-01_BT-25-2", "BR-FR-02_BT-25",
        "BR-FR-01_EXT-FR-FE-136-1", "BR-FR-01_EXT-FR-FE-136-2", "BR-FR-02_EXT-FR-FE-136",
        "BR-FR-03_BT-2", "BR-FR-03_BT-7", "BR-FR-03_BT-9", "BR-FR-03_BT-26", "BR-FR-03_BT-72", "BR-FR-03_BT-73", "BR-FR-03_BT-74",
        "BR-FR-03_EXT-FR-FE-138", "BR-FR-03_EXT-FR-FE-158", "BR-FR-03_BT-134", "BR-FR-03_BT-135",
        "BR-FR-04_BT-3", "BR-FR-04_EXT-FR-FE-02", "BR-FR-04_EXT-FR-FE-137",
        "BR-FR-05_BT-22-1", "BR-FR-05_BT-22-2", "BR-FR-05_BT-22-3",
        "BR-FR-06_BT-21-1", "BR-FR-06_BT-21-2", "BR-FR-06_BT-21-3", "BR-FR-06_BT-21-4",
        "BR-FR-08_BT-23", "BR-FR-10_BT-30", "BR-FR-11_BT-47", "BR-FR-12_BT-49", "BR-FR-13_BT-34",
        "BR-FR-15_BT-95_BT-102-1", "BR-FR-15_BT-95_BT-102-2", "BR-FR-15_BT-118-1", "BR-FR-15_BT-118-2",
        "BR-FR-15_BT-151-1", "BR-FR-08_BT-151-2",
        "BR-FR-16_BT-96", "BR-FR-16_BT-119", "BR-FR-16_BT-152",
        "BR-FR-17_BT-123", "BR-FR-18_BT-123", "BR-FR-20_BT-21", "BR-FR-21_BT-49", "BR-FR-22_BT-34",
        "BR-FR-24_BT-29", "BR-FR-24_BT-46", "BR-FR-26_BT-29", "BR-FR-26_BT-46",
        "BR-FR-29_AFL", "BR-FR-29_AVV", "BR-FR-30_BT-128", "BR-FR-30_AFL", "BR-FR-30_AVV", "BR-FR-30_BT-21",
        "BR-FR-32-LEGALID", "BR-FR-32-ID",
    ]
    /// SIRET/SIREN coherence (BR-FR-09), 0225 endpoints (BR-FR-23, BR-FR-25) for every role.
    static let partyIDs: [String] = {
        var ids: [String] = []
        for r in roles {
            if let s = r.siret { ids.append("BR-FR-09_" + s) }
            if let e = r.endpoint { ids.append("BR-FR-23_" + e); ids.append("BR-FR-25_" + e) }
        }
        return ids
    }()
    static let ruleIDs: [String] = Array(Set(ciiIDs + ublIDs + partyIDs)).sorted()

    /// Per role: the BT / EXT id suffix of BR-FR-09 and BR-FR-CO-10 (identifiers) and of
    /// BR-FR-23/25 (electronic address).
    static let roles: [(role: M.PartyRole, siret: String?, endpoint: String?)] = [
        (.seller, "BT-29", "BT-34"), (.buyer, "BT-46", "BT-49"), (.payee, "BT-60", "EXT-FR-FE-29"),
        (.buyerAgent, "EXT-FR-FE-06", "EXT-FR-FE-12"), (.payer, "EXT-FR-FE-46", "EXT-FR-FE-52"),
        (.salesAgent, "EXT-FR-FE-69", "EXT-FR-FE-75"), (.invoicee, "EXT-FR-FE-92", "EXT-FR-FE-98"),
        (.invoicer, "EXT-FR-FE-115", "EXT-FR-FE-121"), (.shipTo, "BT-71", nil),
    ]

    static func check(_ c: RuleContext) {
        numbers(c)
        dates(c)
        typeCodes(c)
        notes(c)
        parties(c)
        vat(c)
        attachments(c)
    }

    // MARK: value formats

    /// `custom:is-valid-id-format`: charset `[A-Za-z0-9+-_/]` after normalize-space, no space at all.
    static func validID(_ raw: String) -> Bool {
        let n = norm(raw)
        guard !n.isEmpty, !raw.utf8.contains(0x20) else { return false }
        return n.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: "/")
        }
    }

    /// `string-length(.)` (characters, not grapheme clusters).
    static func length(_ s: String) -> Int { s.unicodeScalars.count }

    /// `custom:is-valid-date-format`: 20YY, month 01-12, day within the month (CII: on the first
    /// 8 characters of YYYYMMDD; UBL: YYYY-MM-DD exactly).
    static func validDate(_ raw: String, cii: Bool) -> Bool {
        let b = Array(raw.utf8)
        let y, mo, d: Int
        func digits(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard i < b.count, b[i] >= 48 && b[i] <= 57 else { return nil }; v = v * 10 + Int(b[i] - 48) }
            return v
        }
        if cii {
            guard b.count >= 8, let yy = digits(0..<4), let mm = digits(4..<6), let dd = digits(6..<8) else { return false }
            y = yy; mo = mm; d = dd
        } else {
            guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                  let yy = digits(0..<4), let mm = digits(5..<7), let dd = digits(8..<10) else { return false }
            y = yy; mo = mm; d = dd
        }
        guard (2000...2099).contains(y), (1...12).contains(mo), (1...31).contains(d) else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let maxDay = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        return d <= maxDay
    }

    /// `custom:is-valid-schemeid-format`: `^[A-Za-z0-9+\-_.]+$` on the raw value.
    static func validSchemeIDFormat(_ raw: String) -> Bool {
        !raw.isEmpty && raw.utf8.allSatisfy { b in
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
                || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
    }

    static let documentTypeCodes: Set<String> = ["380", "389", "393", "501", "386", "500", "384", "471", "472", "473", "261", "262", "381", "396", "502", "503"]
    static let billingModes: Set<String> = ["B1", "S1", "M1", "B2", "S2", "M2", "S3", "B4", "S4", "M4", "S5", "S6", "B7", "S7", "B8", "S8", "M8", "B9", "S9", "M9"]
    static let vatCategories: Set<String> = ["S", "E", "AE", "K", "G", "O", "Z"]
    static let vatRates: Set<String> = [
        "0", "0.0", "0.00", "10", "10.0", "10.00", "13", "13.0", "13.00", "20", "20.0", "20.00", "8.5", "8.50", "19.6", "19.60",
        "2.1", "2.10", "5.5", "5.50", "7", "7.0", "7.00", "20.6", "20.60", "1.05", "0.9", "0.90", "1.75", "9.2", "9.20", "9.6", "9.60",
    ]
    static let attachmentCodes: Set<String> = [
        "RIB", "LISIBLE", "FEUILLE_DE_STYLE", "PJA", "BORDEREAU_SUIVI", "DOCUMENT_ANNEXE", "BON_LIVRAISON", "BON_COMMANDE",
        "BORDEREAU_SUIVI_VALIDATION", "ETAT_ACOMPTE", "FACTURE_PAIEMENT_DIRECT", "RECAPITULATIF_COTRAITANCE",
    ]
    static let barTreatments: Set<String> = ["B2B", "B2BINT", "B2C", "B2CINT", "OUTOFSCOPE", "ARCHIVEONLY"]
    /// Self-billing type codes (the recipient of a B2B self-billed invoice is the seller).
    static let selfBilledTypes: Set<String> = ["389", "501", "500", "471", "473", "261", "502"]

    // MARK: UBL notes

    /// All `cbc:Note` texts joined with '#' (`string-join(./cbc:Note, '#')` in the compiled
    /// v1.4.0.03 XSLT; the `.sch` source joins with '' — the XSLT is what runs).
    static func joinedNotes(_ m: M) -> String { m.notes.map { $0.raw ?? $0.content }.joined(separator: "#") }

    /// The value after `#CODE#` in the joined UBL notes, up to the next `#` (BAR, TXD).
    static func ublNoteValue(_ m: M, _ code: String) -> String? { ublNoteValue(Array(joinedNotes(m).utf8), code) }

    /// The same on the joined notes' bytes.
    static func ublNoteValue(_ all: [UInt8], _ code: String) -> String? {
        guard let r = find(Array("#\(code)#".utf8), in: all, from: 0) else { return nil }
        let start = r + code.utf8.count + 2
        let end = all[start...].firstIndex(of: UInt8(ascii: "#")) ?? all.endIndex
        return String(decoding: all[start..<end], as: UTF8.self)
    }

    /// Non-overlapping occurrences of `needle` in `hay` (byte search; Foundation's `range(of:)`
    /// is locale-aware and far slower).
    static func occurrences(_ needle: String, in hay: String) -> Int { occurrences(Array(needle.utf8), in: Array(hay.utf8)) }

    static func occurrences(_ n: [UInt8], in h: [UInt8]) -> Int {
        var count = 0, i = 0
        while let r = find(n, in: h, from: i) { count += 1; i = r + n.count }
        return count
    }

    static func contains(_ hay: String, _ needle: String) -> Bool {
        find(Array(needle.utf8), in: Array(hay.utf8), from: 0) != nil
    }

    /// First index of `needle` in `hay` at or after `from`.
    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, from >= 0, hay.count - from >= needle.count else { return nil }
        // glibc's memmem: the notes of a UBL invoice run to kilobytes and are searched a dozen times.
        return hay.withUnsafeBytes { h in
            needle.withUnsafeBytes { n in
                flux_memmem(h.baseAddress! + from, h.count - from, n.baseAddress!, n.count).map { h.baseAddress!.distance(to: $0) }
            }
        }
    }

    // MARK: BR-FR-01 / BR-FR-02 (numbers)

    static func numbers(_ c: RuleContext) {
        let m = c.model, p = c.paths
        func checkID(_ raw: String, len: String, fmt: [String], _ what: String, at: @autoclosure () -> String) {
            if length(raw) > 35 { c.fail(len, .semantic, "\(what) '\(raw)' is longer than 35 characters", at: at()) }
            if !validID(raw) {
                for id in fmt { c.fail(id, .semantic, "\(what) '\(raw)' may only contain letters, digits and + - _ / (no spaces)", at: at()) }
            }
        }
        if let n = m.number {
            if p.cii { checkID(n, len: "BR-FR-01_BT-1", fmt: ["BR-FR-02_BT-1"], "the invoice number (BT-1)", at: p.document + "/ram:ID") }
            else { checkID(n, len: "BR-FR-01_BT-1-1", fmt: ["BR-FR-01_BT-1-2", "BR-FR-02_BT-1"], "the invoice number (BT-1)", at: p.root + "/cbc:ID") }
        }
        for (i, r) in m.precedingInvoices.enumerated() {
            guard let id = r.id else { continue }
            if p.cii { checkID(id, len: "BR-FR-01_BT-25", fmt: ["BR-FR-02_BT-25"], "the preceding invoice number (BT-25)", at: p.settlement + "/ram:InvoiceReferencedDocument[\(i + 1)]/ram:IssuerAssignedID") }
            else { checkID(id, len: "BR-FR-01_BT-25-1", fmt: ["BR-FR-01_BT-25-2", "BR-FR-02_BT-25"], "the preceding invoice number (BT-25)", at: p.root + "/cac:BillingReference[\(i + 1)]/cac:InvoiceDocumentReference/cbc:ID") }
        }
        for (i, l) in m.lines.enumerated() {
            for r in l.precedingInvoices {
                guard let id = r.id else { continue }
                if p.cii { checkID(id, len: "BR-FR-01_EXT-FR-FE-136", fmt: ["BR-FR-02_EXT-FR-FE-136"], "the line's referenced invoice number", at: p.line(i)) }
                else { checkID(id, len: "BR-FR-01_EXT-FR-FE-136-1", fmt: ["BR-FR-01_EXT-FR-FE-136-2", "BR-FR-02_EXT-FR-FE-136"], "the line's referenced invoice number", at: p.line(i)) }
            }
        }
    }

    // MARK: BR-FR-03 (dates 2000-2099)

    static func dates(_ c: RuleContext) {
        let m = c.model, p = c.paths, cii = c.cii
        func check(_ d: M.DateValue?, _ id: String, _ what: String, _ at: @autoclosure () -> String) {
            guard let d else { return }
            if cii && d.raw.isEmpty && d.format == nil { return }  // CII period element without DateTimeString
            if !validDate(d.raw, cii: cii) {
                c.fail(id, .semantic, "\(what) '\(norm(d.raw))' is not a valid date between 2000 and 2099", at: at())
            }
        }
        check(m.issueDate, "BR-FR-03_BT-2", "the issue date (BT-2)", p.cii ? p.document + "/ram:IssueDateTime/udt:DateTimeString" : p.root + "/cbc:IssueDate")
        check(m.taxPointDate, "BR-FR-03_BT-7", "the VAT point date (BT-7)", p.cii ? p.settlement + "/ram:ApplicableTradeTax/ram:TaxPointDate/udt:DateString" : p.root + "/cbc:TaxPointDate")
        for d in m.dueDates {
            check(d, "BR-FR-03_BT-9", "the payment due date (BT-9)", p.cii ? p.settlement + "/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString" : p.root + "/cbc:DueDate")
        }
        for r in m.precedingInvoices {
            check(r.issueDate, "BR-FR-03_BT-26", "the preceding invoice issue date (BT-26)", p.cii ? p.settlement + "/ram:InvoiceReferencedDocument" : p.root + "/cac:BillingReference")
        }
        check(m.delivery?.actualDate, "BR-FR-03_BT-72", "the actual delivery date (BT-72)", p.cii ? p.tx + "/ram:ApplicableHeaderTradeDelivery" : p.root + "/cac:Delivery/cbc:ActualDeliveryDate")
        check(m.invoicePeriod?.start, "BR-FR-03_BT-73", "the invoicing period start date (BT-73)", p.cii ? p.settlement + "/ram:BillingSpecifiedPeriod" : p.root + "/cac:InvoicePeriod/cbc:StartDate")
        check(m.invoicePeriod?.end, "BR-FR-03_BT-74", "the invoicing period end date (BT-74)", p.cii ? p.settlement + "/ram:BillingSpecifiedPeriod" : p.root + "/cac:InvoicePeriod/cbc:EndDate")
        for (i, l) in m.lines.enumerated() {
            for r in l.precedingInvoices { check(r.issueDate, "BR-FR-03_EXT-FR-FE-138", "line \(i + 1): the referenced invoice date", p.line(i)) }
            check(l.deliveryDate, "BR-FR-03_EXT-FR-FE-158", "line \(i + 1): the delivery date", p.line(i))
            check(l.period?.start, cii ? "BR-FR-03_EXT-FR-FE-134" : "BR-FR-03_BT-134", "line \(i + 1): the line period start date (BT-134)", p.line(i))
            check(l.period?.end, cii ? "BR-FR-03_EXT-FR-FE-135" : "BR-FR-03_BT-135", "line \(i + 1): the line period end date (BT-135)", p.line(i))
        }
    }

    // MARK: BR-FR-04 (type codes)

    static func typeCodes(_ c: RuleContext) {
        let m = c.model, p = c.paths
        if let t = m.typeCode, !documentTypeCodes.contains(t) {
            c.fail("BR-FR-04_BT-3", .semantic, "the invoice type code (BT-3) '\(norm(t))' is not allowed in France (380, 389, 393, 501, 386, 500, 384, 471, 472, 473, 261, 262, 381, 396, 502, 503)",
                   at: p.cii ? p.document + "/ram:TypeCode" : p.root + (m.syntax == .ublCreditNote ? "/cbc:CreditNoteTypeCode" : "/cbc:InvoiceTypeCode"))
        }
        for r in m.precedingInvoices {
            if let t = r.typeCode, !documentTypeCodes.contains(t) {
                c.fail("BR-FR-04_EXT-FR-FE-02", .semantic, "the preceding invoice type code '\(norm(t))' is not allowed in France", at: p.cii ? p.settlement + "/ram:InvoiceReferencedDocument" : p.root + "/cac:BillingReference")
            }
        }
        for (i, l) in m.lines.enumerated() {
            for r in l.precedingInvoices {
                if let t = r.typeCode, !documentTypeCodes.contains(t) {
                    c.fail("BR-FR-04_EXT-FR-FE-137", .semantic, "line \(i + 1): the referenced invoice type code '\(norm(t))' is not allowed in France", at: p.line(i))
                }
            }
        }
    }

    // MARK: BR-FR-05, BR-FR-06, BR-FR-20, BR-FR-31 (notes)

    static func notes(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let labels = ["PMT": "the fixed recovery indemnity note (PMT)", "PMD": "the late payment penalties note (PMD)",
                      "AAB": "the early payment discount note (AAB)", "TXD": "the tax note (TXD)"]
        if p.cii {
            guard c.facts.hasExchangedDocument else { return }
            func at() -> String { p.document }
            for code in ["PMT", "PMD", "AAB"] where !m.notes.contains(where: { $0.subjectCode == code }) {
                c.fail("BR-FR-05_BT-22_" + code, .semantic, "\(labels[code]!) is mandatory (IncludedNote with SubjectCode \(code))", at: at())
            }
            for code in ["PMT", "PMD", "AAB", "TXD"] where m.notes.filter({ $0.subjectCode == code }).count > 1 {
                c.fail("BR-FR-06_BT-21_" + code, .semantic, "\(labels[code]!) may appear only once", at: at())
            }
            for (i, n) in m.notes.enumerated() where n.subjectCode == "BAR" && !barTreatments.contains(n.content) {
                c.fail("BR-FR-20_BT-21", .semantic, "the BAR note value '\(n.content)' is not one of B2B, B2BINT, B2C, B2CINT, OUTOFSCOPE, ARCHIVEONLY", at: p.document + "/ram:IncludedNote[\(i + 1)]")
            }
            let bars = m.notes.filter { $0.subjectCode == "BAR" && barTreatments.contains(norm($0.content)) }.count
            if bars > 1 { c.fail("BR-FR-31_BT-21", .semantic, "only one BAR note (business process type) is allowed", at: at()) }
        } else {
            let all = Array(joinedNotes(m).utf8)
            func at() -> String { p.root + "/cbc:Note" }
            for (n, code) in ["PMT", "PMD", "AAB"].enumerated() where find(Array("#\(code)#".utf8), in: all, from: 0) == nil {
                c.fail("BR-FR-05_BT-22-\(n + 1)", .semantic, "\(labels[code]!) is mandatory (a cbc:Note starting with #\(code)#)", at: at())
            }
            for (n, code) in ["PMT", "PMD", "AAB", "TXD"].enumerated() where occurrences(Array("#\(code)#".utf8), in: all) > 1 {
                c.fail("BR-FR-06_BT-21-\(n + 1)", .semantic, "\(labels[code]!) may appear only once", at: at())
            }
            if let bar = ublNoteValue(all, "BAR"), !bar.isEmpty, !barTreatments.contains(bar) {
                c.fail("BR-FR-20_BT-21", .semantic, "the BAR note value '\(bar)' is not one of B2B, B2BINT, B2C, B2CINT, OUTOFSCOPE, ARCHIVEONLY", at: at())
            }
            let barNotes = Array((m.notes.map { $0.raw ?? "" }.filter { contains($0, "#BAR#") }.joined() + "#").utf8)
            var count = 0
            for v in ["B2B", "B2BINT", "B2C", "B2CINT", "OUTOFSCOPE", "ARCHIVEONLY"] { count += occurrences(Array("BAR#\(v)#".utf8), in: barNotes) }
            if count > 1 { c.fail("BR-FR-30_BT-21", .semantic, "only one BAR note (business process type) is allowed", at: at()) }
        }
    }

    // MARK: BR-FR-08..13, 21..26, 32 (process, identifiers, addresses)

    static func parties(_ c: RuleContext) {
        let m = c.model, p = c.paths, cii = c.cii
        // BR-FR-08: BT-23 from the French list (CII: when the context element exists).
        if (!cii || c.facts.hasDocumentContext), !(m.businessProcess.map { billingModes.contains($0) } ?? false) {
            c.fail("BR-FR-08_BT-23", .semantic, "the business process type (BT-23, cadre de facturation) \(shown(m.businessProcess)) must be one of B1, S1, M1, B2, S2, M2, S3, B4, S4, M4, S5, S6, B7, S7, B8, S8, M8, B9, S9, M9",
                   at: cii ? p.context + "/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID" : p.root + "/cbc:ProfileID")
        }
        // BR-FR-09: SIRET = 14 digits starting with the party's SIREN.
        var parties: [M.Party] = [m.seller, m.buyer, m.payee].compactMap { $0 }
        parties += m.otherParties
        for party in parties {
            guard let suffix = roles.first(where: { $0.role == party.role })?.siret else { continue }
            siretCheck(c, party, id: "BR-FR-09_" + suffix, strict: party.role == .seller || party.role == .buyer, at: p.party(party.role))
        }
        if cii {
            for (i, l) in m.lines.enumerated() {
                if let s = l.shipTo { siretCheck(c, s, id: "BR-FR-09_EXT-FR-FE-146", strict: false, at: p.line(i)) }
            }
        }
        // BR-FR-10: seller SIREN (scheme 0002), 9 digits.
        if cii || (m.seller?.hasLegalEntity ?? false) {
            let siren = m.seller?.siren
            if !(siren.map { isNineDigits(norm($0)) } ?? false) {
                c.fail("BR-FR-10_BT-30", .semantic, "the seller SIREN (BT-30 with scheme 0002) is mandatory and must be 9 digits (\(shown(siren)))",
                       at: p.party(.seller) + (cii ? "/ram:SpecifiedLegalOrganization/ram:ID" : "/cac:PartyLegalEntity/cbc:CompanyID"))
            }
        }
        // BR-FR-11: buyer SIREN when BAR = B2B.
        let isB2B = cii ? m.notes.contains { $0.subjectCode == "BAR" && $0.content == "B2B" } : ublNoteValue(m, "BAR") == "B2B"
        if isB2B {
            let siren = m.buyer?.siren
            let ok = cii ? isNineDigits(siren ?? "") : (siren.map { isNineDigits(norm($0)) } ?? false)
            if !ok {
                c.fail("BR-FR-11_BT-47", .semantic, "a B2B invoice needs the buyer SIREN (BT-47 with scheme 0002, 9 digits) (\(shown(siren)))",
                       at: p.party(.buyer) + (cii ? "/ram:SpecifiedLegalOrganization/ram:ID" : "/cac:PartyLegalEntity/cbc:CompanyID"))
            }
        }
        // BR-FR-12 / BR-FR-13: electronic addresses.
        for (party, id, bt, role) in [(m.buyer, "BR-FR-12_BT-49", "BT-49", M.PartyRole.buyer), (m.seller, "BR-FR-13_BT-34", "BT-34", .seller)] {
            let v = party?.endpoint?.value
            let ok = cii ? !(v ?? "").isEmpty : filled(v)
            if !ok {
                c.fail(id, .semantic, "the \(role == .buyer ? "buyer" : "seller") electronic address (\(bt)) is mandatory",
                       at: p.party(role) + (cii ? "/ram:URIUniversalCommunication/ram:URIID" : "/cbc:EndpointID"))
            }
        }
        // BR-FR-21 / BR-FR-22: B2B routing address = scheme 0225 starting with the SIREN.
        let typeCode = m.typeCode ?? ""
        let excluded = selfBilledTypes.contains(typeCode)
        func routingOK(_ party: M.Party?) -> Bool {
            let endpoint = party?.endpoint?.value ?? ""
            let siren = cii ? (party?.legalIDs.first?.value ?? "") : (party?.siren ?? "")
            return endpoint.hasPrefix(siren) && party?.endpoint?.scheme == "0225"
        }
        if isB2B && !excluded && !routingOK(m.buyer) {
            c.fail("BR-FR-21_BT-49", .semantic, "in B2B the buyer electronic address (BT-49) must use scheme 0225 and start with the buyer SIREN", at: p.party(.buyer))
        }
        if isB2B && excluded && !routingOK(m.seller) {
            c.fail("BR-FR-22_BT-34", .semantic, "in a B2B self-billed invoice the seller electronic address (BT-34) must use scheme 0225 and start with the seller SIREN", at: p.party(.seller))
        }
        // BR-FR-23 / BR-FR-25: address format and length.
        for party in [m.seller, m.buyer, m.payee].compactMap({ $0 }) + m.otherParties {
            guard let suffix = roles.first(where: { $0.role == party.role })?.endpoint, let e = party.endpoint else { continue }
            func at() -> String { p.party(party.role) + (cii ? "/ram:URIUniversalCommunication/ram:URIID" : "/cbc:EndpointID") }
            if e.scheme == "0225", !validSchemeIDFormat(e.value) {
                c.fail("BR-FR-23_" + suffix, .semantic, "the electronic address '\(e.value)' (scheme 0225) may only contain letters, digits and + - _ .", at: at())
            }
            if length(e.value) > 125 { c.fail("BR-FR-25_" + suffix, .semantic, "the electronic address is longer than 125 characters", at: at()) }
        }
        // BR-FR-24 / BR-FR-26: private identifiers (scheme 0224).
        for (party, bt) in [(m.seller, "BT-29"), (m.buyer, "BT-46")] {
            guard let party else { continue }
            for id in party.identifiers where id.isGlobal && id.scheme == "0224" {
                if !validSchemeIDFormat(id.value) { c.fail("BR-FR-24_" + bt, .semantic, "the private identifier '\(id.value)' (scheme 0224) may only contain letters, digits and + - _ .", at: p.party(party.role)) }
                if length(id.value) > 100 { c.fail("BR-FR-26_" + bt, .semantic, "the private identifier (scheme 0224) is longer than 100 characters", at: p.party(party.role)) }
            }
        }
        // BR-FR-32: every scheme 0002 (and 0231) identifier is 9 digits.
        for h in c.facts.legalIDs0002 where !isNineDigits(norm(h.value)) {
            c.fail("BR-FR-32-LEGALID", .semantic, "the SIREN '\(norm(h.value))' (scheme 0002) must be 9 digits", at: h.path)
        }
        for h in c.facts.globalIDs0002 where !isNineDigits(norm(h.value)) {
            c.fail(cii ? "BR-FR-32-GLOBALID" : "BR-FR-32-ID", .semantic, "the identifier '\(norm(h.value))' (scheme 0002/0231) must be 9 digits", at: h.path)
        }
    }

    static func isNineDigits(_ s: String) -> Bool { s.utf8.count == 9 && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    /// BR-FR-09: the first SIRET (scheme 0009) is 14 digits and starts with the SIREN. Seller and
    /// buyer need their own SIREN (strict); other parties fall back to the SIRET's first 9 digits.
    static func siretCheck(_ c: RuleContext, _ party: M.Party, id: String, strict: Bool, at: @autoclosure () -> String) {
        guard let siret = party.identifiers.first(where: { $0.isGlobal && $0.scheme == "0009" })?.value else { return }
        let sirens = party.legalIDs.filter { $0.scheme == "0002" }.map(\.value)
        let digits14 = siret.utf8.count == 14 && siret.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        let prefix = String(siret.unicodeScalars.prefix(9))
        let ok: Bool
        if strict {
            ok = digits14 && sirens.contains(prefix)
        } else if let siren = sirens.first, !siren.isEmpty {
            ok = digits14 && siren == prefix
        } else {
            ok = digits14
        }
        if !ok {
            c.fail(id, .semantic, "the SIRET '\(siret)' (scheme 0009) must be 14 digits starting with the party's SIREN (\(sirens.first.map { "'\($0)'" } ?? "absent"))", at: at())
        }
    }

    // MARK: BR-FR-15 / BR-FR-16 (VAT categories and rates)

    static func vat(_ c: RuleContext) {
        let m = c.model, p = c.paths
        func rateOK(_ n: M.Number?) -> Bool {
            guard let n else { return true }
            if c.cii && n.raw.isEmpty { return true }  // `not(string(...))`
            return vatRates.contains(n.raw)
        }
        if p.cii {
            for (i, a) in m.allowancesCharges.enumerated() {
                guard let t = a.tax else { continue }
                func at() -> String { p.allowanceCharge(i) + "/ram:CategoryTradeTax" }
                categoryCII(c, t, id: "BR-FR-15_BT-95_BT-102", lineStatus: nil, at: at())
                if !rateOK(t.rate) { c.fail("BR-FR-16_BT-96_BT-103", .semantic, "the VAT rate \(shown(t.rate)) is not a French rate", at: at()) }
            }
            for (i, b) in m.vatBreakdown.enumerated() {
                func at() -> String { p.vat(i, in: m) }
                categoryCII(c, b.tax, id: "BR-FR-15_BT-95_BT-118", lineStatus: nil, at: at())
                if !rateOK(b.tax.rate) { c.fail("BR-FR-16_BT-119", .semantic, "the VAT rate (BT-119) \(shown(b.tax.rate)) is not a French rate (0, 0.9, 1.05, 1.75, 2.1, 5.5, 7, 8.5, 9.2, 9.6, 10, 13, 19.6, 20, 20.6)", at: at()) }
            }
            for (i, l) in m.lines.enumerated() {
                for t in l.taxes {
                    func at() -> String { p.line(i) + "/ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax" }
                    categoryCII(c, t, id: "BR-FR-15_BT-95_BT-151", lineStatus: l.statusReasonCode, at: at())
                    if !rateOK(t.rate) { c.fail("BR-FR-16_BT-152", .semantic, "line \(i + 1): the VAT rate (BT-152) \(shown(t.rate)) is not a French rate", at: at()) }
                }
            }
        } else {
            var acTaxes: [M.TaxCategory] = m.allowancesCharges.compactMap(\.tax)
            for l in m.lines { acTaxes += l.allowancesCharges.compactMap(\.tax) }
            for t in acTaxes {
                func at() -> String { p.root + "/cac:AllowanceCharge/cac:TaxCategory" }
                categoryUBL(c, t, ids: ("BR-FR-15_BT-95_BT-102-1", "BR-FR-15_BT-95_BT-102-2"), at: at())
                if !rateOK(t.rate) { c.fail("BR-FR-16_BT-96", .semantic, "the allowance/charge VAT rate \(shown(t.rate)) is not a French rate", at: at()) }
            }
            for (i, b) in m.vatBreakdown.enumerated() where b.hasCategoryElement {
                func at() -> String { p.vat(i, in: m) + "/cac:TaxCategory" }
                categoryUBL(c, b.tax, ids: ("BR-FR-15_BT-118-1", "BR-FR-15_BT-118-2"), at: at())
                if !rateOK(b.tax.rate) { c.fail("BR-FR-16_BT-119", .semantic, "the VAT rate (BT-119) \(shown(b.tax.rate)) is not a French rate (0, 0.9, 1.05, 1.75, 2.1, 5.5, 7, 8.5, 9.2, 9.6, 10, 13, 19.6, 20, 20.6)", at: at()) }
            }
            for (i, l) in m.lines.enumerated() {
                for t in l.taxes {
                    func at() -> String { p.line(i) + "/cac:Item/cac:ClassifiedTaxCategory" }
                    categoryUBL(c, t, ids: ("BR-FR-15_BT-151-1", "BR-FR-08_BT-151-2"), at: at())
                    if m.syntax == .ublInvoice, !rateOK(t.rate) {
                        c.fail("BR-FR-16_BT-152", .semantic, "line \(i + 1): the VAT rate (BT-152) \(shown(t.rate)) is not a French rate", at: at())
                    }
                }
            }
        }
    }

    static func categoryCII(_ c: RuleContext, _ t: M.TaxCategory, id: String, lineStatus: String?, at: @autoclosure () -> String) {
        let code = t.category
        let valid = code.map { vatCategories.contains($0) } ?? false
        let groupLine = lineStatus == "GROUP" || lineStatus == "INFORMATION"
        if !valid && !(code == nil && groupLine) {
            c.fail(id, .semantic, "the VAT category code \(shown(code)) is not allowed in France (S, E, AE, K, G, O, Z)", at: at())
        }
        if code == "L" || code == "M" { c.fail(id + "_LM", .semantic, "VAT categories L and M (Canary Islands, Ceuta and Melilla) are not used in France", at: at()) }
    }

    static func categoryUBL(_ c: RuleContext, _ t: M.TaxCategory, ids: (String, String), at: @autoclosure () -> String) {
        guard let code = t.category else { return }
        if !vatCategories.contains(code) {
            c.fail(ids.0, .semantic, "the VAT category code '\(code)' is not allowed in France (S, E, AE, K, G, O, Z)", at: at())
        }
        if code == "L" || code == "M" { c.fail(ids.1, .semantic, "VAT categories L and M (Canary Islands, Ceuta and Melilla) are not used in France", at: at()) }
    }

    // MARK: BR-FR-17, 18, 29, 30 (attachments and object references)

    static func attachments(_ c: RuleContext) {
        let m = c.model, p = c.paths
        let docAt = p.cii ? p.agreement + "/ram:AdditionalReferencedDocument" : p.root + "/cac:AdditionalDocumentReference"
        for d in m.additionalDocuments {
            if p.cii {
                if d.typeCode == "916", let n = d.description.map(norm), !n.isEmpty, !attachmentCodes.contains(n) {
                    c.fail("BR-FR-17_BT-123", .semantic, "the attachment description '\(n)' is not a French attachment code (RIB, LISIBLE, PJA, ...)", at: docAt)
                }
            } else if let desc = d.description, !attachmentCodes.contains(desc) {
                c.fail("BR-FR-17_BT-123", .semantic, "the attachment description '\(desc)' is not a French attachment code (RIB, LISIBLE, PJA, ...)", at: docAt)
            }
        }
        if m.additionalDocuments.filter({ $0.description == "LISIBLE" }).count > 1 {
            c.fail("BR-FR-18_BT-123", .semantic, "only one attachment may be the readable copy (LISIBLE)", at: docAt)
        }
        if p.cii {
            let afl = m.additionalDocuments.filter { $0.referenceTypeCode == "AFL" }
            let avv = m.additionalDocuments.filter { $0.referenceTypeCode == "AVV" }
            if afl.count > 1 || avv.count > 1 {
                c.fail("BR-FR-29_BT-18", .semantic, "at most one AFL and one AVV object reference (BT-18) are allowed", at: docAt)
            }
            for d in afl where d.id != nil && !filled(d.id) { c.fail("BR-FR-29_AFL", .semantic, "the AFL reference is empty", at: docAt) }
            for d in avv where d.id != nil && !filled(d.id) { c.fail("BR-FR-29_AVV", .semantic, "the AVV reference is empty", at: docAt) }
        } else {
            for d in m.additionalDocuments where d.id != nil {
                if d.idScheme == "AFL", !filled(d.id) { c.fail("BR-FR-29_AFL", .semantic, "the AFL reference is empty", at: docAt) }
                if d.idScheme == "AVV", !filled(d.id) { c.fail("BR-FR-29_AVV", .semantic, "the AVV reference is empty", at: docAt) }
            }
            for (i, l) in m.lines.enumerated() {
                for d in l.objectReferences where d.id != nil {
                    if d.idScheme == "AFL", !filled(d.id) { c.fail("BR-FR-30_AFL", .semantic, "line \(i + 1): the AFL reference is empty", at: p.line(i)) }
                    if d.idScheme == "AVV", !filled(d.id) { c.fail("BR-FR-30_AVV", .semantic, "line \(i + 1): the AVV reference is empty", at: p.line(i)) }
                }
            }
        }
    }
}
