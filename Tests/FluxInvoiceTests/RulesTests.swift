import FluxCore
@testable import FluxInvoice
import Foundation
import Testing

/// Small, fast checks of the model extractors and of each rule family, on the French samples
/// with one defect at a time. The expected ids were confirmed with the official oracle
/// (`scripts/oracle/invoice_check.py`); the broad comparison lives in OracleAgreementTests and
/// MutationOracleTests.
@Suite("Rules: model and rule families")
struct RulesTests {
    static let cii = String(decoding: (try? Corpus.data(Corpus.frCII)) ?? Data(), as: UTF8.self)
    static let ubl = String(decoding: (try? Corpus.data(Corpus.frUBL)) ?? Data(), as: UTF8.self)

    /// Checks an in-memory document; fails the test when it is not an invoice.
    func check(_ xml: String) throws -> (errors: [Anomaly], warnings: [Anomaly], model: InvoiceModel) {
        let doc = try XMLDoc.parse(Data(xml.utf8))
        let root = try #require(doc.root)
        let syntax = try InvoiceSyntax.detect(rootName: root.name, namespace: root.namespace).get()
        return InvoiceChecker.check(doc, syntax: syntax)
    }

    func ids(_ xml: String) throws -> Set<String> { Set(try check(xml).errors.map(\.rule)) }

    func edit(_ s: String, _ a: String, _ b: String) -> String {
        precondition(s.contains(a), "anchor '\(a)' not in the sample")
        return s.replacingOccurrences(of: a, with: b)
    }

    // MARK: decimals and helpers

    @Test("xs:decimal parsing is exact and strict")
    func decimalParsing() {
        #expect(XSDecimal.parse("1326.60")?.decimal == Decimal(string: "1326.6"))
        #expect(XSDecimal.parse(" 2 \n") == 2)
        #expect(XSDecimal.parse("-0.005")?.decimal == Decimal(string: "-0.005"))
        #expect(XSDecimal.parse("+3") == 3)
        #expect(XSDecimal.parse(".5")?.decimal == Decimal(string: "0.5"))
        #expect(XSDecimal.parse("12345678901234567890.12")?.decimal == Decimal(string: "12345678901234567890.12"))
        #expect(XSDecimal.parse("0.0000000000000000000012")?.decimal == Decimal(string: "0.0000000000000000000012"))
        for bad in ["", " ", "1e3", "1,5", "1.2.3", "-", "abc", "NaN"] { #expect(XSDecimal.parse(bad) == nil, "\(bad)") }
    }

    @Test("XPath rounding: half toward +infinity, two decimals by exponent shift")
    func rounding() {
        let x = { (s: String) in XSDecimal.parse(s)! }
        #expect(XSDecimal.round(x("2.5")) == 3)
        #expect(XSDecimal.round(x("-2.5")) == -2)
        #expect(XSDecimal.round(x("-2.6")) == -3)
        #expect(XSDecimal.round2(x("1.005")) == x("1.01"))
        #expect(XSDecimal.round2(x("-1.005")) == x("-1"))
        #expect(XSDecimal.round2(x("206.6")) == x("206.60"))
        #expect(XSDecimal.shift(-123, -2) == x("-1.23"))
        #expect(XSDecimal.digitsAfterDot("1.000") == 3)
        #expect(XSDecimal.digitsAfterDot("10") == 0)
    }

    /// XSDec keeps small values as integers and falls back to Foundation's Decimal beyond: both
    /// must give what Decimal alone gave (value and printed form), on either side of the limits.
    @Test("XSDec agrees with Foundation Decimal: arithmetic, comparison, rounding, printing, doubles")
    func xsDecAgreesWithDecimal() {
        var rng = SystemRandomNumberGenerator()
        func lexical() -> String {
            let digits = Int.random(in: 1...(Bool.random(using: &rng) ? 6 : 20), using: &rng)
            var s = (0..<digits).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            let fraction = Int.random(in: 0...min(digits, Bool.random(using: &rng) ? 4 : 20), using: &rng)
            if fraction > 0 { s.insert(".", at: s.index(s.endIndex, offsetBy: -fraction)) }
            return (Bool.random(using: &rng) ? "-" : "") + s
        }
        func foundationRound(_ d: Decimal) -> Decimal {
            var input = d + Decimal(sign: .plus, exponent: -1, significand: 5)
            var out = Decimal()
            if input >= 0 { NSDecimalRound(&out, &input, 0, .down); return out }
            var negated = -input
            NSDecimalRound(&out, &negated, 0, .up)
            return -out
        }
        for _ in 0..<3000 {
            let (ls, rs) = (lexical(), lexical())
            guard let l = XSDecimal.parse(ls), let r = XSDecimal.parse(rs),
                  let dl = Decimal(string: ls, locale: Locale(identifier: "en_US_POSIX")),
                  let dr = Decimal(string: rs, locale: Locale(identifier: "en_US_POSIX")) else {
                Issue.record("unparsed \(ls) or \(rs)")
                continue
            }
            #expect(l.decimal == dl && l.description == dl.description, "\(ls)")
            #expect((l + r).decimal == dl + dr && (l + r).description == (dl + dr).description, "\(ls) + \(rs)")
            #expect((l - r).decimal == dl - dr && (l - r).description == (dl - dr).description, "\(ls) - \(rs)")
            #expect((l * r).decimal == dl * dr && (l * r).description == (dl * dr).description, "\(ls) * \(rs)")
            #expect((l < r) == (dl < dr) && (l == r) == (dl == dr), "\(ls) <=> \(rs)")
            #expect((-l).decimal == -dl && l.magnitudeValue.decimal == (dl < 0 ? -dl : dl), "\(ls)")
            #expect(XSDecimal.round(l).decimal == foundationRound(dl), "round(\(ls))")
            #expect(XSDecimal.round2(l).description == Decimal(sign: .plus, exponent: -2, significand: foundationRound(Decimal(sign: .plus, exponent: 2, significand: dl))).description, "round2(\(ls))")
            #expect(XSDecimal.toDouble(l) == Double(dl.description), "double(\(ls))")
        }
        // Zeros, signs and trailing zeros print as Decimal prints them.
        for s in ["-0", "-0.00", "0.000", "+0", "100", "100.00", "0.5", "-0.050", "000123.4500", "-999999999999999999"] {
            let x = XSDecimal.parse(s)!, d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX"))!
            #expect(x.description == d.description && x.decimal == d, "\(s)")
            #expect(XSDecimal.round2(x).description == Decimal(sign: .plus, exponent: -2, significand: foundationRound(Decimal(sign: .plus, exponent: 2, significand: d))).description, "round2(\(s))")
        }
        // Overflowing the 64-bit form on the way falls back to Decimal, exactly.
        let big = XSDecimal.parse("999999999999999999")!
        #expect((big + big).decimal == Decimal(string: "1999999999999999998"))
        #expect((big * big).description == (Decimal(string: "999999999999999999")! * Decimal(string: "999999999999999999")!).description)
        #expect(XSDecimal.parse("0.000000000000000001")! * XSDecimal.parse("0.1")! == XSDecimal.parse("0.0000000000000000001")!)
    }

    @Test("normalize-space and the allocation-free VAT test")
    func normalizeSpace() {
        #expect(InvoiceModel.norm("  a \n\t b  ") == "a b")
        #expect(InvoiceModel.norm("plain") == "plain")
        #expect(InvoiceModel.norm(nil) == "")
        #expect(InvoiceModel.isVAT(" vat ", trimming: true))
        #expect(!InvoiceModel.isVAT(" VAT", trimming: false))
        #expect(!InvoiceModel.isVAT("VATS", trimming: true))
    }

    @Test("Factur-X profile from BT-24")
    func profiles() {
        #expect(FacturXProfile.from(guideline: "urn:factur-x.eu:1p0:minimum") == .minimum)
        #expect(FacturXProfile.from(guideline: "urn:factur-x.eu:1p0:basicwl") == .basicWL)
        #expect(FacturXProfile.from(guideline: "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic") == .basic)
        #expect(FacturXProfile.from(guideline: " urn:cen.eu:en16931:2017 ") == .en16931)
        #expect(FacturXProfile.from(guideline: "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended") == .extended)
        #expect(FacturXProfile.from(guideline: "urn:cen.eu:en16931:2017#conformant#urn.cpro.gouv.fr:1p0:extended-ctc-fr") == .extendedCTCFR)
        #expect(FacturXProfile.from(guideline: "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_1.2") == .xrechnung)
        #expect(FacturXProfile.from(guideline: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0") == .peppolBIS)
        #expect(FacturXProfile.from(guideline: "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort") == .zugferdComfort)
        #expect(FacturXProfile.from(guideline: nil) == .other)
        #expect(!FacturXProfile.minimum.isEN16931Level && FacturXProfile.basic.isEN16931Level)
    }

    // MARK: model

    @Test("CII model: document, parties, lines, VAT, totals")
    func ciiModel() throws {
        let r = try check(Self.cii)
        let m = r.model
        #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(r.errors)")
        #expect(m.syntax == .cii && m.profile == .en16931)
        #expect(m.number == "FA-2026-000123" && m.typeCode == "380" && m.currency == "EUR")
        #expect(m.issueDate?.iso == "2026-09-15" && m.issueDate?.format == "102")
        #expect(m.dueDates.map(\.iso) == ["2026-10-15"])
        #expect(m.businessProcess == "S1")
        #expect(m.notes.compactMap(\.subjectCode) == ["PMT", "PMD", "AAB", "BAR"])
        #expect(m.seller?.siren == "100000009" && m.seller?.vatID == "FR88100000009")
        #expect(m.seller?.endpoint == InvoiceModel.Identifier(value: "100000009", scheme: "0225"))
        #expect(m.seller?.identifiers.first?.scheme == "0009" && m.seller?.identifiers.first?.isGlobal == true)
        #expect(m.buyer?.address?.city == "LYON" && m.buyer?.address?.country == "FR")
        #expect(m.lines.count == 2)
        #expect(m.lines[1].quantity?.value == 3 && m.lines[1].unitCode == "C62" && m.lines[1].tax?.rate?.raw == "5.50")
        #expect(m.vatBreakdown.map { $0.taxAmount?.raw } == ["200.00", "6.60"])
        #expect(m.totals?.grandTotal?.value?.decimal == Decimal(string: "1326.60"))
        #expect(m.totals?.taxTotal(in: "EUR")?.raw == "206.60")
        #expect(m.paymentMeans.first?.code == "58" && m.paymentMeans.first?.accounts == ["FR7630006000011234567890189"])
        #expect(m.delivery?.actualDate?.iso == "2026-09-10")
    }

    @Test("UBL model: #CODE# notes, legal entity, tax totals")
    func ublModel() throws {
        let r = try check(Self.ubl)
        let m = r.model
        #expect(r.errors.isEmpty, "\(r.errors)")
        #expect(m.syntax == .ublInvoice && m.number == "FA-2026-000124")
        #expect(m.notes.first?.subjectCode == "PMT" && m.notes.first?.content.hasPrefix("En cas de retard") == true)
        #expect(m.notes.last?.subjectCode == "BAR" && m.notes.last?.content == "B2B")
        #expect(m.seller?.name == "VENDEUR EXEMPLE SAS" && m.seller?.hasLegalEntity == true && m.seller?.siren == "100000009")
        #expect(m.buyer?.vatID == "FR37200000008")
        #expect(m.totals?.taxBasisTotal?.raw == "1120.00" && m.totals?.taxTotals.count == 1)
        #expect(m.lines.map { $0.netAmount?.raw } == ["1000.00", "120.00"])
        #expect(m.vatBreakdown.allSatisfy { $0.tax.isVATNormalized && $0.tax.code == "S" })
    }

    @Test("the model is Codable (what `invoice show` renders)")
    func modelCodable() throws {
        let m = try check(Self.cii).model
        let back = try JSONDecoder().decode(InvoiceModel.self, from: JSONEncoder().encode(m))
        #expect(back == m)
    }

    // MARK: core, totals, VAT categories, code lists

    @Test("BR-02 with its location; BR-16 without lines")
    func coreMandatory() throws {
        let r = try check(edit(Self.cii, "<ram:ID>FA-2026-000123</ram:ID>", ""))
        #expect(r.errors.map(\.rule) == ["BR-02"])
        #expect(r.errors.first?.location == "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID")
        #expect(r.errors.first?.reasonCode == "REJ_SEMAN")
        let lines = Self.ubl.components(separatedBy: "<cac:InvoiceLine>")[0] + "</Invoice>"
        let noLines = try ids(lines)
        #expect(noLines.contains("BR-16") && noLines.contains("BR-CO-10"))
    }

    @Test("BR-CO-14/17 and BR-S-09: the CII tolerance is inclusive, the UBL one strict")
    func vatTolerance() throws {
        let cii = try ids(edit(Self.cii, "<ram:CalculatedAmount>200.00<", "<ram:CalculatedAmount>201.00<"))
        #expect(cii == ["BR-CO-14", "BR-S-09"])
        let ubl = try ids(edit(Self.ubl, ">200.00</cbc:TaxAmount>", ">201.00</cbc:TaxAmount>"))
        #expect(ubl == ["BR-CO-14", "BR-CO-17", "BR-S-09"])
        #expect(try ids(edit(Self.ubl, ">200.00</cbc:TaxAmount>", ">200.99</cbc:TaxAmount>")) == ["BR-CO-14"])
        let r = try check(edit(Self.cii, "<ram:CalculatedAmount>200.00<", "<ram:CalculatedAmount>201.00<"))
        #expect(r.errors.allSatisfy { $0.reasonCode == "REJ_COH" })
    }

    @Test("BR-CO-15 / BR-CO-16 on a wrong grand total")
    func grandTotal() throws {
        #expect(try ids(edit(Self.cii, "<ram:GrandTotalAmount>1326.60<", "<ram:GrandTotalAmount>1300.00<")) == ["BR-CO-15", "BR-CO-16"])
        #expect(try ids(edit(Self.ubl, ">1326.60</cbc:TaxInclusiveAmount>", ">1300.00</cbc:TaxInclusiveAmount>")) == ["BR-CO-15", "BR-CO-16"])
    }

    @Test("an exempt line without exemption reason: BR-E-10 only")
    func exemptWithoutReason() throws {
        var s = edit(Self.cii, "<ram:CategoryCode>S</ram:CategoryCode>\n          <ram:RateApplicablePercent>5.50<", "<ram:CategoryCode>E</ram:CategoryCode>\n          <ram:RateApplicablePercent>0.00<")
        s = edit(s, "<ram:CalculatedAmount>6.60<", "<ram:CalculatedAmount>0.00<")
        s = edit(s, "<ram:CategoryCode>S</ram:CategoryCode>\n        <ram:RateApplicablePercent>5.50<", "<ram:CategoryCode>E</ram:CategoryCode>\n        <ram:RateApplicablePercent>0.00<")
        s = edit(s, ">206.60</ram:TaxTotalAmount>", ">200.00</ram:TaxTotalAmount>")
        s = edit(s, "1326.60", "1320.00")
        #expect(try ids(s) == ["BR-E-10"])
    }

    @Test("code lists: currency, type code, category")
    func codeLists() throws {
        let cur = try ids(edit(Self.cii, "<ram:InvoiceCurrencyCode>EUR<", "<ram:InvoiceCurrencyCode>EUX<"))
        #expect(cur.isSuperset(of: ["BR-CL-04", "BR-CO-15", "BR-FR-CO-12_BT-5"]))
        #expect(try ids(edit(Self.ubl, "<cbc:InvoiceTypeCode>380<", "<cbc:InvoiceTypeCode>999<")) == ["BR-CL-01", "BR-FR-04_BT-3"])
        #expect(try ids(edit(Self.ubl, "<cbc:InvoiceTypeCode>380<", "<cbc:InvoiceTypeCode>326<")) == ["BR-FR-04_BT-3"])
    }

    // MARK: French rules

    @Test("French notes: the CII and UBL ids differ")
    func frenchNotes() throws {
        let cii = try ids(edit(Self.cii, "<ram:SubjectCode>PMT</ram:SubjectCode>", "<ram:SubjectCode>AAI</ram:SubjectCode>"))
        #expect(cii == ["BR-FR-05_BT-22_PMT"])
        #expect(try ids(edit(Self.ubl, "#PMT#", "#AAI#")) == ["BR-FR-05_BT-22-1"])
        #expect(try ids(edit(Self.ubl, "#AAB#", "#PMD#")) == ["BR-FR-05_BT-22-3", "BR-FR-06_BT-21-2"])
    }

    @Test("French formats: number charset, dates 2000-2099, BT-23, SIREN length")
    func frenchFormats() throws {
        #expect(try ids(edit(Self.ubl, "FA-2026-000124", "FA-2026 000124")) == ["BR-FR-01_BT-1-2", "BR-FR-02_BT-1"])
        #expect(try ids(edit(Self.cii, "FA-2026-000123", "FA-2026 000123")) == ["BR-FR-02_BT-1"])
        #expect(try ids(edit(Self.cii, "20260915", "19990915")) == ["BR-FR-03_BT-2"])
        #expect(try ids(edit(Self.ubl, "<cbc:ProfileID>S1<", "<cbc:ProfileID>S10<")) == ["BR-FR-08_BT-23"])
        let siren = try ids(edit(Self.cii, ">100000009</ram:ID>", ">10000000</ram:ID>"))
        #expect(siren == ["BR-FR-09_BT-29", "BR-FR-10_BT-30", "BR-FR-32-LEGALID"])
    }

    @Test("French coherence: non-EUR currency, credit note reference, due date")
    func frenchCoherence() throws {
        let usd = edit(edit(Self.ubl, "<cbc:DocumentCurrencyCode>EUR<", "<cbc:DocumentCurrencyCode>USD<"), "currencyID=\"EUR\"", "currencyID=\"USD\"")
        #expect(try ids(usd) == ["BR-FR-CO-12_BT-5"])
        #expect(try ids(edit(Self.cii, "<ram:TypeCode>380<", "<ram:TypeCode>381<")) == ["BR-FR-CO-05_BT-3"])
        #expect(try ids(edit(Self.cii, "20261015", "20260901")) == ["BR-FR-CO-07_BT-9"])
    }

    // MARK: our identifier checks

    @Test("FLUX-SIREN-KEY / FLUX-SIRET-KEY / FLUX-VAT-KEY reject wrong check digits only")
    func identifierKeys() throws {
        // 100000008 fails Luhn; the SIRET then no longer starts with it (official BR-FR-09) too.
        let siren = try ids(edit(Self.ubl, "<cbc:CompanyID schemeID=\"0002\">100000009<", "<cbc:CompanyID schemeID=\"0002\">100000008<"))
        #expect(siren.contains("FLUX-SIREN-KEY") && siren.contains("BR-FR-09_BT-29"))
        #expect(try ids(edit(Self.cii, ">10000000900017</ram:GlobalID>", ">10000000900018</ram:GlobalID>")) == ["FLUX-SIRET-KEY"])
        #expect(try ids(edit(Self.cii, ">FR88100000009<", ">FR00100000009<")) == ["FLUX-VAT-KEY"])
        // Format errors stay with the official rules: an 8-digit SIREN is not a key error.
        #expect(!(try ids(edit(Self.cii, ">100000009</ram:ID>", ">10000000</ram:ID>"))).contains("FLUX-SIREN-KEY"))
        #expect(Identifiers.isValidSIRET("35600000000001"))  // La Poste: digit sum multiple of 5
    }

    // MARK: registry and compatibility

    @Test("rule registry: official ids of both syntaxes and ours")
    func registry() {
        let ids = InvoiceChecker.implementedRuleIDs
        for id in ["BR-01", "BR-CO-17", "BR-S-08", "BR-IC-12", "BR-O-14", "BR-CL-25", "BR-FR-05_BT-22_PMT", "BR-FR-05_BT-22-1",
                   "BR-FR-08_BT-23", "BR-FR-10_BT-30", "BR-FR-12_BT-49", "BR-FR-16_BT-119", "BR-FR-CO-12_BT-5", "BR-FR-DEC-04_BT-119",
                   "BR-FR-CO-10_BT-71-1", "BR-FR-23_BT-34", "CII-DT-097", "FLUX-SIREN-KEY", "FLUX-SIRET-KEY", "FLUX-VAT-KEY"] {
            #expect(ids.contains(id), "\(id)")
        }
        #expect(RuleEngine.families.flatMap(\.ruleIDs).count == RuleEngine.families.map { Set($0.ruleIDs).count }.reduce(0, +))
    }

    @Test("CDAR documents get no findings and an empty model")
    func cdarIgnored() throws {
        let cdar = try Corpus.data("cdar/generated/FA-2026-000123_01_CDV-200_Deposee_to-seller.xml")
        let r = InvoiceChecker.check(try XMLDoc.parse(cdar), syntax: .cdar)
        #expect(r.errors.isEmpty && r.warnings.isEmpty && r.model.lines.isEmpty)
    }

    @Test("line findings carry the line position in their location")
    func lineLocation() throws {
        let r = try check(edit(Self.ubl, "<cbc:Name>Ouvrage technique</cbc:Name>", ""))
        let a = try #require(r.errors.first { $0.rule == "BR-25" })
        #expect(a.location == "/ubl:Invoice/cac:InvoiceLine[2]")
    }

    @Test("a rule failing on every line is listed 10 times, then summed up once")
    func findingsPerRuleAreCapped() throws {
        let open = "<ram:IncludedSupplyChainTradeLineItem>", close = "</ram:IncludedSupplyChainTradeLineItem>"
        let start = try #require(Self.cii.range(of: open)), end = try #require(Self.cii.range(of: close))
        let badLine = Self.cii[start.lowerBound..<end.upperBound].replacingOccurrences(of: "unitCode=\"DAY\"", with: "unitCode=\"ZZQ\"")
        let xml = Self.cii[..<start.lowerBound] + String(repeating: badLine, count: 41) + Self.cii[end.upperBound...]
        let findings = try check(String(xml)).errors.filter { $0.rule == "BR-CL-23" }
        #expect(findings.count == RuleContext.maxListedPerRule + 1)
        #expect(findings.prefix(10).allSatisfy { $0.location != nil })
        #expect(findings.last?.message == "31 more findings of BR-CL-23 not listed (41 in all)")
    }
}
