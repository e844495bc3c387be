import FluxCore
import FluxCrypto
import FluxInvoice
@testable import FluxStore
import FluxTestSupport
import Foundation
import GRDB
import Testing

@Suite("SQLiteStore: batches and the delivery queue")
struct BatchQueueTests {
    static let twoPerBatch = BatchPolicy(maxInvoices: 2, maxBytes: 64 << 20, maxAge: 300)

    @Test("batches seal on count, on a month change and on age")
    func sealing() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            // 1st invoice: an open batch.
            let (o1, _, _) = try fx.record(try fx.deposit("M1", [ciiInvoice(number: "FA-2026-000201")]))
            #expect(o1.sealedBatches.isEmpty)
            var open = try fx.store.listBatches(status: "open", now: baseTime)
            #expect(open.count == 1)
            let first = try #require(open.first)
            #expect(first.invoiceCount == 1)
            #expect(first.company == "ACME")
            #expect(first.seller == "0002:100000009")
            #expect(first.buyer == "0002:200000008")
            #expect(first.month == "2026-09")
            #expect(first.sealedAt == nil)

            // 2nd: reaches maxInvoices → sealed "count".
            let (o2, _, _) = try fx.record(try fx.deposit("M2", [ciiInvoice(number: "FA-2026-000202")]))
            #expect(o2.sealedBatches == [first.id])
            let sealed = try #require(try fx.store.listBatches(status: "ready", now: baseTime).first)
            #expect(sealed.id == first.id)
            #expect(sealed.sealReason == "count")
            #expect(sealed.invoiceCount == 2)
            #expect(sealed.sealedAt == JournalTime.format(baseTime))
            #expect(sealed.bytes == Int64(try ciiInvoice(number: "FA-2026-000201").data.count + ciiInvoice(number: "FA-2026-000202").data.count))
            #expect(try fx.store.listBatches(status: "open", now: baseTime).isEmpty)

            // 3rd (September) opens a new batch; 4th (October) seals it "month" and opens another.
            let (o3, _, _) = try fx.record(try fx.deposit("M3", [ciiInvoice(number: "FA-2026-000203")]))
            #expect(o3.sealedBatches.isEmpty)
            let second = try #require(try fx.store.listBatches(status: "open", now: baseTime).first)
            #expect(second.id != first.id)
            let (o4, _, _) = try fx.record(try fx.deposit("M4", [ciiInvoice(number: "FA-2026-000301", issueDate: "20261002")]))
            #expect(o4.sealedBatches == [second.id])
            let all = try fx.store.listBatches(now: baseTime)
            let secondNow = try #require(all.first { $0.id == second.id })
            #expect(secondNow.status == "ready")
            #expect(secondNow.sealReason == "month")
            #expect(secondNow.invoiceCount == 1)
            open = try fx.store.listBatches(status: "open", now: baseTime)
            #expect(open.count == 1)
            let third = try #require(open.first)
            #expect(third.month == "2026-10")
            #expect(third.invoiceCount == 1)

            // Not yet expired; then past maxAge → sealed "age".
            #expect(try fx.store.sealExpiredBatches(now: baseTime.addingTimeInterval(299)).isEmpty)
            let later = baseTime.addingTimeInterval(301)
            #expect(try fx.store.sealExpiredBatches(now: later) == [third.id])
            let aged = try #require(try fx.store.listBatches(now: later).first { $0.id == third.id })
            #expect(aged.status == "ready")
            #expect(aged.sealReason == "age")
            #expect(aged.sealedAt == JournalTime.format(later))
            #expect(try fx.store.sealExpiredBatches(now: later.addingTimeInterval(1000)).isEmpty)
            #expect(try fx.store.queueDepth() == ["ready": 3])
        }
    }

    @Test("positions in a batch follow arrival, 0 to n-1, across deposits and within an archive")
    func positionsFollowArrival() throws {
        try withStore(policy: BatchPolicy(maxInvoices: 5, maxBytes: 64 << 20, maxAge: 300)) { fx in
            _ = try fx.record(try fx.deposit("P1", [ciiInvoice(number: "POS-1")]))
            _ = try fx.record(try fx.deposit("P2", [ciiInvoice(number: "POS-2"), ciiInvoice(number: "POS-3")]))
            _ = try fx.record(try fx.deposit("P3", [ciiInvoice(number: "POS-4"), ciiInvoice(number: "POS-5"), ciiInvoice(number: "POS-6")]))
            let rows = try fx.store.pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT bi.batch_id, bi.position, i.number FROM batch_invoices bi JOIN invoices i ON i.id = bi.invoice_id
                    ORDER BY i.number
                    """)
            }
            let batches = rows.map { $0["batch_id"] as String }
            #expect(rows.map { $0["position"] as Int } == [0, 1, 2, 3, 4, 0], "the sixth opens the next batch")
            #expect(Set(batches.prefix(5)).count == 1 && batches[5] != batches[0])
            let counts = try fx.store.pool.read { db in try Int.fetchAll(db, sql: "SELECT invoice_count FROM batches ORDER BY opened_at, id") }
            #expect(counts.sorted() == [1, 5])
        }
    }

    @Test("different buyers, sellers and companies get different batches")
    func batchKeys() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            try fx.record(try fx.deposit("M1", [ciiInvoice(number: "A-1")]))
            try fx.record(try fx.deposit("M2", [ciiInvoice(number: "A-2", sellerSIREN: "356000000")]))
            try fx.record(try fx.deposit("M3", [ciiInvoice(number: "A-3")], partner: StoreFixture.otherPartner))
            let open = try fx.store.listBatches(status: "open", now: baseTime)
            #expect(open.count == 3)
            #expect(open.allSatisfy { $0.invoiceCount == 1 })
            #expect(Set(open.map { "\($0.company)|\($0.seller)" }) == ["ACME|0002:100000009", "ACME|0002:356000000", "BETA|0002:100000009"])
        }
    }

    @Test("byte limit: a batch seals before an invoice that would overflow it")
    func bytesLimit() throws {
        let size = try ciiInvoice(number: "B-1").data.count
        try withStore(policy: BatchPolicy(maxInvoices: 100, maxBytes: Int64(size) * 3 / 2, maxAge: 300)) { fx in
            try fx.record(try fx.deposit("M1", [ciiInvoice(number: "B-1")]))
            let (o2, _, _) = try fx.record(try fx.deposit("M2", [ciiInvoice(number: "B-2")]))
            #expect(o2.sealedBatches.count == 1)
            let ready = try fx.store.listBatches(status: "ready", now: baseTime)
            #expect(ready.map(\.sealReason) == ["bytes"])
            #expect(ready.map(\.invoiceCount) == [1])
            #expect(try fx.store.listBatches(status: "open", now: baseTime).map(\.invoiceCount) == [1])
        }
    }

    @Test("manifest lists the invoices with their sha256; the signature is the signer's output")
    func manifest() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let a = try ciiInvoice(number: "FA-2026-000401")
            let b = try ciiInvoice(number: "FA-2026-000402")
            let (outcome, _, _) = try fx.record(try fx.deposit("M1", [a, b]))
            let batchID = try #require(outcome.sealedBatches.first)
            let content = try fx.store.batchContent(batchID: batchID)
            #expect(content.summary.id == batchID)
            #expect(content.signature == testSignature(content.manifest))
            #expect(content.signature.prefix(3) == Data("sig".utf8))
            #expect(content.files.map(\.name) == ["invoices/00001_FA-2026-000401.xml", "invoices/00002_FA-2026-000402.xml"])
            #expect(content.files.map(\.sha256) == [Digest.sha256Hex(a.data), Digest.sha256Hex(b.data)])

            let json = try #require(try JSONSerialization.jsonObject(with: content.manifest) as? [String: Any])
            #expect(json["batch_id"] as? String == batchID)
            #expect(json["company"] as? String == "ACME")
            #expect(json["seller"] as? String == "0002:100000009")
            #expect(json["buyer"] as? String == "0002:200000008")
            #expect(json["month"] as? String == "2026-09")
            #expect(json["seal_reason"] as? String == "count")
            #expect(json["sealed_at"] as? String == JournalTime.format(baseTime))
            #expect(json["software"] as? String == FluxVersion.full)
            let invoices = try #require(json["invoices"] as? [[String: Any]])
            #expect(invoices.count == 2)
            #expect(invoices.map { $0["number"] as? String } == ["FA-2026-000401", "FA-2026-000402"])
            #expect(invoices.map { $0["sha256"] as? String } == [Digest.sha256Hex(a.data), Digest.sha256Hex(b.data)])
            #expect(invoices.map { $0["file"] as? String } == content.files.map(\.name))
            #expect(invoices.map { ($0["size"] as? NSNumber)?.intValue } == [a.data.count, b.data.count])
            #expect(invoices.map { $0["id"] as? String } == outcome.items.map(\.invoiceID))
            #expect(invoices[0]["issue_date"] as? String == "2026-09-15")
            #expect(invoices[0]["type_code"] as? String == "380")
            #expect(invoices[0]["currency"] as? String == "EUR")
            #expect(invoices[0]["total_without_vat"] as? String == "1120.00")
            #expect(invoices[0]["total_vat"] as? String == "206.60")
            #expect(invoices[0]["total_with_vat"] as? String == "1326.60")
            // Every manifest digest names an original in the spool with exactly that content.
            for inv in invoices {
                let sha = try #require(inv["sha256"] as? String)
                let stored = try #require(FileManager.default.contents(atPath: fx.spool.path(for: sha)))
                #expect(Digest.sha256Hex(stored) == sha)
            }
            // The stored manifest decodes back into the public type.
            let dec = JSONDecoder()
            dec.keyDecodingStrategy = .convertFromSnakeCase
            let decoded = try dec.decode(ManifestProbe.self, from: content.manifest)
            #expect(decoded.batchId == batchID)
            #expect(decoded.invoices.count == 2)
        }
    }

    struct ManifestProbe: Decodable {
        var batchId: String
        var invoices: [Invoice]
        struct Invoice: Decodable { var sha256: String; var file: String }
    }

    @Test("an open batch has no content yet; an unknown one is not found")
    func contentOfOpenBatch() throws {
        try withStore { fx in
            try fx.record(try fx.deposit("M1", [ciiInvoice()]))
            let open = try #require(try fx.store.listBatches(status: "open", now: baseTime).first)
            expectFluxError("not-sealed") { _ = try fx.store.batchContent(batchID: open.id) }
            expectFluxError("not-found") { _ = try fx.store.batchContent(batchID: "B-nope") }
        }
    }

    @Test("archive member names never escape invoices/")
    func archiveNames() {
        #expect(SQLiteStore.archiveName(position: 0, member: "a.xml") == "invoices/00001_a.xml")
        #expect(SQLiteStore.archiveName(position: 41, member: "in/sub/b.xml") == "invoices/00042_b.xml")
        #expect(SQLiteStore.archiveName(position: 0, member: "../../etc/passwd") == "invoices/00001_passwd")
        #expect(SQLiteStore.archiveName(position: 0, member: "fac ture;rm -rf.xml") == "invoices/00001_fac_ture_rm_-rf.xml")
        #expect(SQLiteStore.archiveName(position: 0, member: "") == "invoices/00001_invoice.xml")
        #expect(SQLiteStore.archiveName(position: 0, member: String(repeating: "x", count: 300)).count == "invoices/00001_".count + 120)
    }

    /// Three sealed batches (two invoices each) in a store with a two-invoice policy.
    static func threeReadyBatches(_ fx: StoreFixture) throws -> [String] {
        var ids: [String] = []
        for n in 0..<3 {
            let (o, _, _) = try fx.record(try fx.deposit("M\(n)", [ciiInvoice(number: "Q-\(n)-1"), ciiInvoice(number: "Q-\(n)-2")]),
                                          now: baseTime.addingTimeInterval(Double(n)))
            ids += o.sealedBatches
        }
        return ids
    }

    @Test("claim, lease expiry and re-claim")
    func claimAndLease() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let ids = try Self.threeReadyBatches(fx)
            #expect(ids.count == 3)
            let t0 = baseTime.addingTimeInterval(10)

            let claimed = try fx.store.claim(max: 2, lease: 60, consumer: "erp-1", now: t0)
            #expect(claimed.map(\.id) == Array(ids.prefix(2)))   // oldest sealed first
            #expect(claimed.allSatisfy { $0.status == "claimed" && $0.deliveries == 1 })
            #expect(claimed.allSatisfy { $0.leaseUntil == JournalTime.format(t0.addingTimeInterval(60)) })

            let rest = try fx.store.claim(max: 10, lease: 60, consumer: "erp-2", now: t0.addingTimeInterval(1))
            #expect(rest.map(\.id) == [ids[2]])
            #expect(try fx.store.claim(max: 10, lease: 60, consumer: "erp-2", now: t0.addingTimeInterval(2)).isEmpty)
            #expect(try fx.store.claim(max: 0, lease: 60, consumer: "erp-2", now: t0.addingTimeInterval(2)).isEmpty)

            // The first lease expires at t0+60: those two are ready again (not the third, leased until t0+61).
            let ready = try fx.store.listBatches(status: "ready", now: t0.addingTimeInterval(60))
            #expect(ready.map(\.id) == Array(ids.prefix(2)))
            let again = try fx.store.claim(max: 10, lease: 60, consumer: "erp-3", now: t0.addingTimeInterval(60.5))
            #expect(again.map(\.id) == Array(ids.prefix(2)))
            #expect(again.allSatisfy { $0.deliveries == 2 })
            #expect(try fx.store.queueDepth() == ["claimed": 3])
        }
    }

    @Test("ack is idempotent; ack of a ready batch is not-claimed; unknown ids are not-found")
    func ack() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let ids = try Self.threeReadyBatches(fx)
            let t0 = baseTime.addingTimeInterval(10)
            _ = try fx.store.claim(max: 1, lease: 60, consumer: "erp", now: t0)

            let acked = try fx.store.ack(batchID: ids[0], now: t0.addingTimeInterval(5))
            #expect(acked.status == "acked")
            #expect(acked.leaseUntil == nil)
            let twice = try fx.store.ack(batchID: ids[0], now: t0.addingTimeInterval(6))
            #expect(twice.status == "acked")
            #expect(twice.id == ids[0])
            // Acked batches are never handed out again, even much later.
            #expect(try fx.store.claim(max: 10, lease: 60, consumer: "erp", now: t0.addingTimeInterval(10_000)).map(\.id) == Array(ids.suffix(2)))

            expectFluxError("not-found") { _ = try fx.store.ack(batchID: "B-unknown", now: t0) }
            expectFluxError("not-found") { _ = try fx.store.nack(batchID: "B-unknown", now: t0) }
        }
    }

    @Test("ack of a ready batch, or after the lease expired: not-claimed")
    func ackNotClaimed() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let ids = try Self.threeReadyBatches(fx)
            let t0 = baseTime.addingTimeInterval(10)
            expectFluxError("not-claimed") { _ = try fx.store.ack(batchID: ids[0], now: t0) }
            _ = try fx.store.claim(max: 1, lease: 60, consumer: "erp", now: t0)
            expectFluxError("not-claimed") { _ = try fx.store.ack(batchID: ids[0], now: t0.addingTimeInterval(61)) }
            #expect(try fx.store.listBatches(status: "ready", now: t0.addingTimeInterval(61)).map(\.id) == ids)
        }
    }

    @Test("nack gives a claimed batch back at once")
    func nack() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let ids = try Self.threeReadyBatches(fx)
            let t0 = baseTime.addingTimeInterval(10)
            _ = try fx.store.claim(max: 1, lease: 600, consumer: "erp", now: t0)
            let back = try fx.store.nack(batchID: ids[0], now: t0.addingTimeInterval(1))
            #expect(back.status == "ready")
            #expect(back.leaseUntil == nil)
            #expect(try fx.store.nack(batchID: ids[0], now: t0.addingTimeInterval(2)).status == "ready")  // already ready: fine
            let reclaimed = try fx.store.claim(max: 1, lease: 600, consumer: "erp", now: t0.addingTimeInterval(3))
            #expect(reclaimed.map(\.id) == [ids[0]])
            #expect(reclaimed.first?.deliveries == 2)
            _ = try fx.store.ack(batchID: ids[0], now: t0.addingTimeInterval(4))
            expectFluxError("not-claimed") { _ = try fx.store.nack(batchID: ids[0], now: t0.addingTimeInterval(5)) }
        }
    }

    @Test("BatchArchiveWriter: a tar.gz with manifest.json, manifest.p7s and the originals")
    func archiveWriter() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let a = try ciiInvoice(number: "FA-2026-000501")
            let ubl = (name: "FR-UBL.xml", data: try Corpus.data(Corpus.frUBL))
            let (outcome, _, _) = try fx.record(try fx.deposit("M1", [a, ubl]))
            let batchID = try #require(outcome.sealedBatches.first)
            let content = try fx.store.batchContent(batchID: batchID)
            let out = fx.dir.appendingPathComponent("batch.tar.gz").path
            try BatchArchiveWriter.write(content, spool: fx.spool, to: out)

            let listing = String(decoding: try run("/usr/bin/tar", ["-tzf", out], in: fx.dir), as: UTF8.self)
                .split(separator: "\n").map(String.init)
            #expect(listing == ["manifest.json", "manifest.p7s", "invoices/00001_FA-2026-000501.xml", "invoices/00002_FR-UBL.xml"])
            #expect(try run("/usr/bin/tar", ["-xzOf", out, "manifest.json"], in: fx.dir) == content.manifest)
            #expect(try run("/usr/bin/tar", ["-xzOf", out, "manifest.p7s"], in: fx.dir) == content.signature)
            #expect(try run("/usr/bin/tar", ["-xzOf", out, "invoices/00001_FA-2026-000501.xml"], in: fx.dir) == a.data)
            #expect(try run("/usr/bin/tar", ["-xzOf", out, "invoices/00002_FR-UBL.xml"], in: fx.dir) == ubl.data)
            // The batch archive is itself a deposit the inspector can read (round trip).
            let report = FluxInspector().inspect(path: out, fileName: "batch.tar.gz")
            #expect(!report.fluxAccepted)   // manifest.json is not XML
            #expect(report.fluxAnomalies.map(\.reasonCode) == ["IRR_TYPE_F"])
        }
    }

    @Test("BatchArchiveWriter: a missing original is an error, not a silent gap")
    func archiveWriterMissingOriginal() throws {
        try withStore(policy: Self.twoPerBatch) { fx in
            let (outcome, _, _) = try fx.record(try fx.deposit("M1", [ciiInvoice(number: "X-1"), ciiInvoice(number: "X-2")]))
            let content = try fx.store.batchContent(batchID: try #require(outcome.sealedBatches.first))
            try FileManager.default.removeItem(atPath: fx.spool.path(for: content.files[1].sha256))
            expectFluxError("spool-missing") {
                try BatchArchiveWriter.write(content, spool: fx.spool, to: fx.dir.appendingPathComponent("b.tar.gz").path)
            }
        }
    }
}
