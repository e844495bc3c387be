import FluxCore
import FluxCrypto
import Foundation
import GRDB

extension SQLiteStore {
    /// Adds an accepted invoice to the open batch of its (company, seller, buyer) pair, sealing
    /// first when the invoice belongs to another month or would overflow `maxBytes`, and after
    /// when the batch reaches `maxInvoices` or `maxBytes`. Returns the ids of batches sealed.
    func addToBatch(_ db: Database, invoiceID: String, company: String, seller: String, buyer: String,
                    month: String, size: Int64, now: Date) throws -> [String] {
        var sealed: [String] = []
        var open = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT id, month, invoice_count, bytes FROM batches WHERE company = ? AND seller_key = ? AND buyer_key = ? AND status = 'open'
            """), arguments: [company, seller, buyer])
        if let o = open {
            let count: Int = o["invoice_count"]
            let bytes: Int64 = o["bytes"]
            let oMonth: String = o["month"]
            if oMonth != month {
                try seal(db, batchID: o["id"], reason: "month", now: now); sealed.append(o["id"]); open = nil
            } else if count > 0 && bytes + size > policy.maxBytes {
                try seal(db, batchID: o["id"], reason: "bytes", now: now); sealed.append(o["id"]); open = nil
            }
        }
        let batchID: String
        // The batch's own counters give the next position: counting its rows instead scanned
        // the whole batch for every invoice added (quadratic in the batch size, in the group
        // commit's serial section).
        var count = 0
        var bytes: Int64 = 0
        if let o = open {
            batchID = o["id"]
            count = o["invoice_count"]
            bytes = o["bytes"]
        } else {
            batchID = Self.newBatchID(now: now)
            try db.cachedStatement(sql: """
                INSERT INTO batches (id, company, seller_key, buyer_key, month, status, opened_at) VALUES (?,?,?,?,?, 'open', ?)
                """).execute(arguments: [batchID, company, seller, buyer, month, now.timeIntervalSince1970])
        }
        try db.cachedStatement(sql: "INSERT INTO batch_invoices (batch_id, invoice_id, position) VALUES (?, ?, ?)")
            .execute(arguments: [batchID, invoiceID, count])
        try db.cachedStatement(sql: "UPDATE batches SET invoice_count = invoice_count + 1, bytes = bytes + ? WHERE id = ?").execute(arguments: [size, batchID])
        count += 1
        bytes += size
        if count >= policy.maxInvoices {
            try seal(db, batchID: batchID, reason: "count", now: now); sealed.append(batchID)
        } else if bytes >= policy.maxBytes {
            try seal(db, batchID: batchID, reason: "bytes", now: now); sealed.append(batchID)
        }
        return sealed
    }

    /// Seals a batch: writes its manifest, signs it as a whole (the lot is signed, BOI §160) and
    /// makes it ready in the queue.
    func seal(_ db: Database, batchID: String, reason: String, now: Date) throws {
        CrashPoint.hit("batch.sealing")
        guard let b = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM batches WHERE id = ?"), arguments: [batchID]) else { return }
        let rows = try Row.fetchAll(db, sql: """
            SELECT i.* FROM batch_invoices bi JOIN invoices i ON i.id = bi.invoice_id WHERE bi.batch_id = ? ORDER BY bi.position
            """, arguments: [batchID])
        let invoices = rows.enumerated().map { (n, r) -> ManifestInvoice in
            ManifestInvoice(id: r["id"], file: Self.archiveName(position: n, member: r["member_name"]), number: r["number"],
                            issueDate: r["issue_date"], typeCode: r["type_code"], currency: r["currency"],
                            totalWithoutVAT: r["total_without_vat"], totalVAT: r["total_vat"], totalWithVAT: r["total_with_vat"],
                            sha256: r["sha256"], size: r["size"])
        }
        let manifest = BatchManifest(batchID: batchID, company: b["company"], seller: b["seller_key"], buyer: b["buyer_key"],
                                     month: b["month"], sealedAt: JournalTime.format(now), sealReason: reason,
                                     software: FluxVersion.full, invoices: invoices)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .convertToSnakeCase
        let json = try enc.encode(manifest)
        let signature = try signer(json)
        try db.cachedStatement(sql: """
            UPDATE batches SET status = 'ready', sealed_at = ?, seal_reason = ?, manifest = ?, signature = ? WHERE id = ? AND status = 'open'
            """).execute(arguments: [now.timeIntervalSince1970, reason, json, signature, batchID])
    }

    /// Seals every open batch older than `maxAge`. Returns the ids sealed.
    @discardableResult
    public func sealExpiredBatches(now: Date = Date()) throws -> [String] {
        try pool.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM batches WHERE status = 'open' AND opened_at <= ?",
                                          arguments: [now.timeIntervalSince1970 - policy.maxAge])
            for id in ids { try seal(db, batchID: id, reason: "age", now: now) }
            return ids
        }
    }

    /// Name of an invoice inside a batch archive: position keeps order, the member name stays
    /// recognisable, and nothing can escape the archive's `invoices/` folder.
    static func archiveName(position: Int, member: String) -> String {
        let base = PathParts.lastComponent(of: member)
        let safe = String(base.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "_" }.prefix(120))
        return "invoices/" + String(format: "%05d", position + 1) + "_" + (safe.isEmpty ? "invoice.xml" : safe)
    }

    static func newBatchID(now: Date) -> String {
        // yyyyMMddTHHmmss from the journal's own UTC format
        let iso = JournalTime.format(now)
        let compact = iso.prefix(19).filter { $0 != "-" && $0 != ":" }
        return "B" + compact + "-" + UUID().uuidString.prefix(8).lowercased()
    }
}
