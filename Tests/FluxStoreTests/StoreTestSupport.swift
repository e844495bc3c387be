import FluxCore
import FluxInvoice
@testable import FluxStore
import Foundation
import FluxTestSupport
import Testing

/// The shared official test corpus (`/work/shared/corpus`, or `$FLUX_CORPUS`).
enum Corpus {
    static let root: String = ProcessInfo.processInfo.environment["FLUX_CORPUS"] ?? "/work/shared/corpus"
    static func data(_ relative: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
    }
    static let frCII = "invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml"
    static let frUBL = "invoices/fr-generated/FR-UBL-EN16931-B2B-simple.xml"
}

/// A fresh directory under the system temporary directory, removed when the body returns.
func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("flux-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// What the test signer returns for `data`: recognisable and derived from the input.
func testSignature(_ data: Data) -> Data { Data("sig".utf8) + data.prefix(4) }

/// 2026-09-15 09:30:00 UTC, the day the sample invoices are issued.
let baseTime = Date(timeIntervalSince1970: 1_789_464_600)

/// A store, its spool and the directory holding both.
struct StoreFixture {
    let dir: URL
    let spool: Spool
    let store: SQLiteStore
    var dbPath: String { dir.appendingPathComponent("store.sqlite").path }

    static let partner = PartnerIdentity(id: "ACME", name: "ACME SAS", address: "1 rue de l'Exemple, 75001 Paris",
                                         siren: "100000009", roles: ["supplier"])
    static let otherPartner = PartnerIdentity(id: "BETA", name: "BETA SARL", address: "2 place de l'Essai, 69002 Lyon",
                                              siren: "200000008", roles: ["supplier", "client"])

    init(dir: URL, policy: BatchPolicy = BatchPolicy()) throws {
        self.dir = dir
        self.spool = try Spool(root: dir.appendingPathComponent("spool").path)
        self.store = try SQLiteStore(path: dir.appendingPathComponent("store.sqlite").path, policy: policy,
                                     signer: { testSignature($0) })
    }

    /// A deposit of XML files (one → a plain XML deposit, several → a "tar.gz" whose stored
    /// bytes are a stand-in), understood with the real inspector and stored in the spool.
    func deposit(_ messageID: String, _ files: [(name: String, data: Data)], partner: PartnerIdentity = partner,
                 at: Date = baseTime) throws -> Deposit {
        var items: [DepositItem] = []
        for f in files {
            let item = try FluxInspector.understand(name: f.name, data: f.data).get()
            items.append(DepositItem(name: f.name, spool: try spool.store(data: f.data), facts: item.facts, anomalies: item.anomalies))
        }
        let single = files.count == 1
        let fluxSpool = single ? items[0].spool : try spool.store(data: Data("archive of \(messageID)".utf8))
        return Deposit(messageID: messageID, partner: partner, channel: "dropzone",
                       fileName: single ? files[0].name : "\(messageID).tar.gz", spool: fluxSpool,
                       format: single ? "xml" : "tar.gz", receivedAt: at, fluxAnomalies: [], items: items)
    }

    /// Records a deposit with a one-document receipt.
    @discardableResult
    func record(_ d: Deposit, now: Date? = nil) throws -> (DepositOutcome, ReceiptFiles, [JournalEntry]) {
        try store.recordDeposit(d, now: now ?? d.receivedAt) { outcome in
            Self.receipt(for: outcome, company: d.partner.id)
        }
    }

    static func receipt(for outcome: DepositOutcome, company: String) -> ReceiptFiles {
        let cdar = Data("<cdar message='\(outcome.messageID)' flux='\(outcome.fluxAccepted)' items='\(outcome.items.map(\.accepted))'/>".utf8)
        return ReceiptFiles(messageID: outcome.messageID, company: company, documents: [
            ReceiptDocument(fileName: "CDAR_\(outcome.messageID).xml", cdar: cdar, signature: testSignature(cdar)),
        ])
    }
}

func withStore<R>(policy: BatchPolicy = BatchPolicy(), _ body: (StoreFixture) throws -> R) throws -> R {
    try withTemporaryDirectory { dir in try body(StoreFixture(dir: dir, policy: policy)) }
}

/// The CII sample with another invoice number and/or issue date (YYYYMMDD).
func ciiInvoice(number: String = "FA-2026-000123", issueDate: String = "20260915", sellerSIREN: String = "100000009") throws -> (name: String, data: Data) {
    var text = String(decoding: try Corpus.data(Corpus.frCII), as: UTF8.self)
    text = text.replacingOccurrences(of: "<ram:ID>FA-2026-000123</ram:ID>", with: "<ram:ID>\(number)</ram:ID>")
    text = text.replacingOccurrences(of: "<udt:DateTimeString format=\"102\">20260915</udt:DateTimeString>",
                                     with: "<udt:DateTimeString format=\"102\">\(issueDate)</udt:DateTimeString>")
    // keep the invoice consistent for the full rules: the due date follows the issue date, and
    // the seller's SIRET, electronic address and VAT number follow its SIREN
    text = text.replacingOccurrences(of: "<udt:DateTimeString format=\"102\">20261015</udt:DateTimeString>",
                                     with: "<udt:DateTimeString format=\"102\">\(issueDate)</udt:DateTimeString>")
    if sellerSIREN != "100000009" {
        let siret: [String: String] = ["356000000": "35600000000048"]
        let n = Int(sellerSIREN) ?? 0
        let vat = "FR" + String(format: "%02d", (12 + 3 * (n % 97)) % 97) + sellerSIREN
        text = text.replacingOccurrences(of: "<ram:ID schemeID=\"0002\">100000009</ram:ID>", with: "<ram:ID schemeID=\"0002\">\(sellerSIREN)</ram:ID>")
        text = text.replacingOccurrences(of: "<ram:GlobalID schemeID=\"0009\">10000000900017</ram:GlobalID>",
                                         with: "<ram:GlobalID schemeID=\"0009\">\(siret[sellerSIREN] ?? sellerSIREN + "00017")</ram:GlobalID>")
        text = text.replacingOccurrences(of: "<ram:URIID schemeID=\"0225\">100000009</ram:URIID>", with: "<ram:URIID schemeID=\"0225\">\(sellerSIREN)</ram:URIID>")
        text = text.replacingOccurrences(of: "<ram:ID schemeID=\"VA\">FR88100000009</ram:ID>", with: "<ram:ID schemeID=\"VA\">\(vat)</ram:ID>")
    }
    return (name: "\(number).xml", data: Data(text.utf8))
}


/// Expects `body` to throw a `FluxError` with `code`.
func expectFluxError(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected FluxError \(code), nothing thrown", sourceLocation: sourceLocation)
    } catch let e as FluxError {
        #expect(e.code == code, "\(e)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected FluxError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
