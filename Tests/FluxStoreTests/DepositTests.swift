import FluxCore
import FluxCrypto
import FluxInvoice
@testable import FluxStore
import Foundation
import Synchronization
import Testing

@Suite("SQLiteStore: deposits, journal and receipts")
struct DepositTests {
    @Test("one invoice: flux, invoice and receipt entries, chained from genesis")
    func journalChain() throws {
        try withStore { fx in
            let cii = try Corpus.data(Corpus.frCII)
            let d = try fx.deposit("M1", [(name: "FR-CII.xml", data: cii)])
            let (outcome, receipt, entries) = try fx.record(d)
            #expect(!outcome.alreadyRecorded)
            #expect(outcome.fluxAccepted)
            #expect(outcome.items.count == 1)
            #expect(outcome.items[0].accepted)
            #expect(outcome.items[0].facts.number == "FA-2026-000123")
            #expect(receipt.documents.count == 1)

            #expect(entries.map(\.kind) == ["flux", "invoice", "receipt"])
            #expect(entries.map(\.seq) == [1, 2, 3])
            #expect(entries.allSatisfy { $0.company == "ACME" && $0.messageID == "M1" })
            #expect(entries[0].prevHash == JournalEntry.genesis(company: "ACME"))
            #expect(entries[1].prevHash == entries[0].hash)
            #expect(entries[2].prevHash == entries[1].hash)
            #expect(entries.allSatisfy { $0.hash == $0.computeHash() })
            #expect(Set(entries.map(\.hash)).count == 3)

            // Flux entry: the deposit as received.
            #expect(entries[0].direction == "received")
            #expect(entries[0].channel == "dropzone")
            #expect(entries[0].status == "accepted")
            #expect(entries[0].sha256 == Digest.sha256Hex(cii))
            #expect(entries[0].sender.code == "ACME")
            #expect(entries[0].sender.siren == "100000009")
            #expect(entries[0].receiver.code == "GATEWAY")
            #expect(entries[0].software == FluxVersion.full)
            // Invoice entry: the legal list's fields.
            let inv = entries[1]
            #expect(inv.invoiceNumber == "FA-2026-000123")
            #expect(inv.invoiceDate == "2026-09-15")
            #expect(inv.amountWithoutVAT == "1120.00")
            #expect(inv.amountWithVAT == "1326.60")
            #expect(inv.currency == "EUR")
            #expect(inv.sender.siren == "100000009")
            #expect(inv.sender.name == "VENDEUR EXEMPLE SAS")
            #expect(inv.sender.role == "supplier")
            #expect(inv.receiver.siren == "200000008")
            #expect(inv.receiver.role == "client")
            #expect(inv.status == "accepted")
            #expect(inv.anomalies.isEmpty)
            // Receipt entry: what was sent back.
            #expect(entries[2].direction == "sent")
            #expect(entries[2].fileName == "CDAR_M1.xml")
            #expect(entries[2].sha256 == Digest.sha256Hex(receipt.documents[0].cdar))
            #expect(entries[2].size == Int64(receipt.documents[0].cdar.count))
            #expect(entries[2].at == JournalTime.format(baseTime))

            // What the store reads back is what it returned, and the chain verifies.
            #expect(try fx.store.journalEntries(company: "ACME") == entries)
            #expect(try fx.store.journalCompanies() == ["ACME"])
            let verdict = try fx.store.verifyJournal()
            #expect(verdict.checked == 3)
            #expect(verdict.breaks.isEmpty)
            #expect(try fx.store.messageExists("M1"))
            #expect(try !fx.store.messageExists("M2"))

            // The stored invoice.
            let record = try #require(try fx.store.invoice(id: outcome.items[0].invoiceID))
            #expect(record.status == "accepted")
            #expect(record.number == "FA-2026-000123")
            #expect(record.seller == "0002:100000009")
            #expect(record.buyer == "0002:200000008")
            #expect(record.sha256 == Digest.sha256Hex(cii))
            #expect(record.batchID != nil)
            #expect(try fx.store.invoice(id: "FA-2026-000123")?.id == record.id)  // by number too
        }
    }

    @Test("a second deposit continues the company's chain; companies have separate chains")
    func chainsPerCompany() throws {
        try withStore { fx in
            let (_, _, e1) = try fx.record(try fx.deposit("M1", [ciiInvoice(number: "A-1")]))
            let (_, _, e2) = try fx.record(try fx.deposit("M2", [ciiInvoice(number: "A-2")]))
            let (_, _, e3) = try fx.record(try fx.deposit("M3", [ciiInvoice(number: "B-1")], partner: StoreFixture.otherPartner))
            #expect(e2.map(\.seq) == [4, 5, 6])
            #expect(e2[0].prevHash == e1.last?.hash)
            #expect(e3.map(\.seq) == [1, 2, 3])
            #expect(e3[0].prevHash == JournalEntry.genesis(company: "BETA"))
            #expect(JournalEntry.genesis(company: "BETA") != JournalEntry.genesis(company: "ACME"))
            #expect(try fx.store.journalCompanies() == ["ACME", "BETA"])
            #expect(try fx.store.journalEntries(company: "ACME").count == 6)
            #expect(try fx.store.journalEntries().count == 9)
            #expect(try fx.store.journalEntries(afterSeq: ["ACME": 5, "BETA": 3]).map(\.seq) == [6])
            #expect(try fx.store.journalEntries(last: 2).count == 2)
            let v = try fx.store.verifyJournal()
            #expect(v.checked == 9)
            #expect(v.breaks.isEmpty)
            #expect(try fx.store.verifyJournal(company: "BETA").checked == 3)
        }
    }

    @Test("replaying a recorded message id writes nothing and returns the stored receipt")
    func replay() throws {
        try withStore { fx in
            let d = try fx.deposit("M1", [ciiInvoice()])
            let (_, receipt, _) = try fx.record(d)
            let journalBefore = try fx.store.journalEntries()
            let batchesBefore = try fx.store.listBatches(now: baseTime)

            let called = Atomic<Bool>(false)
            let (again, storedReceipt, entries) = try fx.store.recordDeposit(d, now: baseTime.addingTimeInterval(5)) { outcome in
                called.store(true, ordering: .relaxed)
                return StoreFixture.receipt(for: outcome, company: "ACME")
            }
            #expect(again.alreadyRecorded)
            #expect(entries.isEmpty)
            let wasCalled = called.load(ordering: .relaxed)
            #expect(!wasCalled)
            #expect(storedReceipt.messageID == "M1")
            #expect(storedReceipt.documents == receipt.documents)
            #expect(try fx.store.journalEntries() == journalBefore)
            #expect(try fx.store.listBatches(now: baseTime) == batchesBefore)
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("the same invoice (seller, number, year) again: rejected DOUBLON, not batched")
    func duplicate() throws {
        try withStore { fx in
            let (first, _, _) = try fx.record(try fx.deposit("M1", [ciiInvoice()]))
            #expect(first.items[0].accepted)

            let (second, _, entries) = try fx.record(try fx.deposit("M2", [ciiInvoice()]))
            #expect(!second.alreadyRecorded)
            #expect(second.fluxAccepted)   // the flux is fine, the invoice is a duplicate
            let item = try #require(second.items.first)
            #expect(!item.accepted)
            #expect(item.anomalies.map(\.reasonCode) == ["DOUBLON"])
            #expect(item.anomalies.first?.rule == "FLUX-DUPLICATE")
            #expect(item.anomalies.first?.message.contains("M1") == true)
            #expect(entries[1].status == "rejected")
            #expect(entries[1].anomalies.count == 1)
            #expect(entries[1].anomalies[0].contains("DOUBLON"))
            let record = try #require(try fx.store.invoice(id: item.invoiceID))
            #expect(record.status == "rejected")
            #expect(record.batchID == nil)
            #expect(try fx.store.listBatches(now: baseTime).map(\.invoiceCount) == [1])

            // Same number, same seller, another year: not a duplicate.
            let (nextYear, _, _) = try fx.record(try fx.deposit("M3", [ciiInvoice(issueDate: "20270115")]))
            #expect(nextYear.items[0].accepted)
            // Same number and year, another seller: not a duplicate.
            let (otherSeller, _, _) = try fx.record(try fx.deposit("M4", [ciiInvoice(sellerSIREN: "356000000")]))
            #expect(otherSeller.items[0].accepted, "\(otherSeller.items[0].anomalies)")
        }
    }

    @Test("a duplicate inside one deposit: the second copy is rejected")
    func duplicateWithinDeposit() throws {
        try withStore { fx in
            let inv = try ciiInvoice()
            let (outcome, _, entries) = try fx.record(try fx.deposit("M1", [(name: "a.xml", data: inv.data), (name: "b.xml", data: inv.data)]))
            #expect(outcome.items.map(\.accepted) == [true, false])
            #expect(outcome.items[1].anomalies.map(\.reasonCode) == ["DOUBLON"])
            #expect(entries.map(\.kind) == ["flux", "invoice", "invoice", "receipt"])
        }
    }

    @Test("an invoice with anomalies is journalled as rejected and not batched")
    func rejectedInvoice() throws {
        try withStore { fx in
            let neg = try Corpus.data("negative/invoices/NEG-07_bad-SIREN-8-digits_CII.xml")
            let (outcome, _, entries) = try fx.record(try fx.deposit("M1", [(name: "neg07.xml", data: neg)]))
            #expect(outcome.items[0].anomalies.map(\.rule).contains("BR-FR-10_BT-30"))
            #expect(entries[1].status == "rejected")
            #expect(entries[1].anomalies.contains { $0.hasPrefix("BR-FR-10_BT-30 [REJ_SEMAN]") })
            #expect(try fx.store.listBatches(now: baseTime).isEmpty)
        }
    }

    @Test("a refused flux: journalled as refused with its reasons, no items")
    func refusedFlux() throws {
        try withStore { fx in
            let raw = try fx.spool.store(data: Data("%PDF-1.7".utf8))
            let anomaly = Anomaly(rule: "FLUX-TYPE", reasonCode: "IRR_TYPE_F", message: "'x.pdf' is a PDF")
            let d = Deposit(messageID: "M1", partner: StoreFixture.partner, channel: "sftp", fileName: "x.pdf", spool: raw,
                            format: "pdf", receivedAt: baseTime, fluxAnomalies: [anomaly], items: [])
            let (outcome, _, entries) = try fx.record(d)
            #expect(!outcome.fluxAccepted)
            #expect(outcome.fluxAnomalies == [anomaly])
            #expect(entries.map(\.kind) == ["flux", "receipt"])
            #expect(entries[0].status == "refused")
            #expect(entries[0].channel == "sftp")
            #expect(entries[0].anomalies == [anomaly.description])
        }
    }

    @Test("CDAR lifecycle items are journalled as lifecycle and never batched")
    func lifecycleItems() throws {
        try withStore { fx in
            let cdar = try Corpus.data("cdar/generated/FA-2026-000123_01_CDV-200_Deposee_to-seller.xml")
            let (outcome, _, entries) = try fx.record(try fx.deposit("M1", [(name: "cdv200.xml", data: cdar)]))
            #expect(outcome.items.first?.facts.syntax == .cdar)
            #expect(outcome.items.first?.accepted == true)
            #expect(entries.map(\.kind) == ["flux", "lifecycle", "receipt"])
            #expect(try fx.store.listBatches(now: baseTime).isEmpty)
        }
    }

    @Test("receipts stay undelivered until marked")
    func undeliveredReceipts() throws {
        try withStore { fx in
            let (_, r1, _) = try fx.record(try fx.deposit("M1", [ciiInvoice(number: "A-1")]), now: baseTime)
            let (_, r2, _) = try fx.record(try fx.deposit("M2", [ciiInvoice(number: "A-2")]), now: baseTime.addingTimeInterval(1))
            var pending = try fx.store.undeliveredReceipts()
            #expect(pending.map(\.messageID) == ["M1", "M2"])
            #expect(pending.map(\.company) == ["ACME", "ACME"])
            #expect(pending[0].documents == r1.documents)
            #expect(pending[1].documents == r2.documents)

            try fx.store.markReceiptDelivered("M1", at: baseTime.addingTimeInterval(2))
            pending = try fx.store.undeliveredReceipts()
            #expect(pending.map(\.messageID) == ["M2"])
            try fx.store.markReceiptDelivered("M2")
            #expect(try fx.store.undeliveredReceipts().isEmpty)
            try fx.store.markReceiptDelivered("unknown")   // harmless
        }
    }

    @Test("a multi-document receipt is stored in order and journalled per document")
    func multiDocumentReceipt() throws {
        try withStore { fx in
            let d = try fx.deposit("M1", [ciiInvoice(number: "A-1"), ciiInvoice(number: "A-2")])
            let (_, receipt, entries) = try fx.store.recordDeposit(d, now: baseTime) { outcome in
                ReceiptFiles(messageID: outcome.messageID, company: "ACME", documents: [
                    ReceiptDocument(fileName: "flux.xml", cdar: Data("f".utf8), signature: Data("sf".utf8)),
                ] + outcome.items.enumerated().map { n, item in
                    ReceiptDocument(fileName: "inv-\(n).xml", cdar: Data(item.facts.number!.utf8), signature: Data("s\(n)".utf8))
                })
            }
            #expect(entries.map(\.kind) == ["flux", "invoice", "invoice", "receipt", "receipt", "receipt"])
            #expect(entries.suffix(3).map(\.fileName) == ["flux.xml", "inv-0.xml", "inv-1.xml"])
            #expect(try fx.store.undeliveredReceipts().first?.documents == receipt.documents)
        }
    }

    @Test("a failing receipt builder rolls the whole deposit back")
    func rollback() throws {
        try withStore { fx in
            let d = try fx.deposit("M1", [ciiInvoice()])
            expectFluxError("cdar") {
                _ = try fx.store.recordDeposit(d, now: baseTime) { _ in throw FluxError("cdar", "cannot sign") }
            }
            #expect(try !fx.store.messageExists("M1"))
            #expect(try fx.store.journalEntries().isEmpty)
            #expect(try fx.store.journalCompanies().isEmpty)
            #expect(try fx.store.listBatches(now: baseTime).isEmpty)
            // And the same deposit can then be recorded normally.
            let (outcome, _, entries) = try fx.record(d)
            #expect(outcome.items[0].accepted)
            #expect(entries.map(\.seq) == [1, 2, 3])
        }
    }

    @Test("concurrent deposits never fork a chain")
    func concurrentDeposits() throws {
        try withStore { fx in
            let deposits = try (0..<16).map { n in
                try fx.deposit("M\(n)", [ciiInvoice(number: "C-\(n)")], partner: n % 2 == 0 ? StoreFixture.partner : StoreFixture.otherPartner)
            }
            let errors = ErrorBox()
            DispatchQueue.concurrentPerform(iterations: deposits.count) { n in
                do { try fx.record(deposits[n]) } catch { errors.add(error) }
            }
            #expect(errors.all.isEmpty, "\(errors.all)")
            for company in ["ACME", "BETA"] {
                #expect(try fx.store.journalEntries(company: company).map(\.seq) == Array(1...24))
            }
            let v = try fx.store.verifyJournal()
            #expect(v.checked == 48)
            #expect(v.breaks.isEmpty)
        }
    }

    @Test("partner file: synced from configuration, exchange dates from deposits")
    func partnerFile() throws {
        try withStore { fx in
            try fx.store.syncPartners([StoreFixture.partner, StoreFixture.otherPartner], now: baseTime)
            var file = try fx.store.partnerFile()
            #expect(file.map(\.id) == ["ACME", "BETA"])
            #expect(file[1].roles == "supplier,client")
            #expect(file.allSatisfy { $0.exitAt == nil && $0.firstExchangeAt == nil })

            try fx.record(try fx.deposit("M1", [ciiInvoice()]), now: baseTime.addingTimeInterval(10))
            try fx.store.syncPartners([StoreFixture.partner], now: baseTime.addingTimeInterval(20))
            file = try fx.store.partnerFile()
            #expect(file[0].firstExchangeAt == JournalTime.format(baseTime.addingTimeInterval(10)))
            #expect(file[0].lastExchangeAt == JournalTime.format(baseTime.addingTimeInterval(10)))
            #expect(file[0].exitAt == nil)
            #expect(file[1].exitAt == JournalTime.format(baseTime.addingTimeInterval(20)))

            // Back in the configuration: the exit date is cleared.
            try fx.store.syncPartners([StoreFixture.partner, StoreFixture.otherPartner], now: baseTime.addingTimeInterval(30))
            #expect(try fx.store.partnerFile()[1].exitAt == nil)
        }
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func add(_ e: any Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [any Error] { lock.lock(); defer { lock.unlock() }; return errors }
}

@Suite struct JournalTimeTests {
    /// The hand-made formatter writes exactly what Foundation's ISO 8601 formatter writes.
    @Test func sameTextAsFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        for t in [0.0, 1_795_358_847.125, 1_795_358_847.75, 951_782_400.5, 4_102_444_799.001, 1_700_000_000] {
            let d = Date(timeIntervalSince1970: t)
            let ours = JournalTime.format(d)
            #expect(ours.count == 24, "\(ours)")
            #expect(ours.prefix(19) == f.string(from: d).prefix(19), "\(ours) vs \(f.string(from: d))")
        }
        #expect(JournalTime.format(Date(timeIntervalSince1970: 1_795_358_847.125)) == "2026-11-22T14:47:27.125Z")
    }
}
