import FluxCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Returns expired leases to `ready` (at-least-once delivery).
    func expireLeases(_ db: Database, now: Date) throws {
        try db.execute(sql: """
            UPDATE batches SET status = 'ready', lease_until = NULL, claimed_by = NULL
            WHERE status = 'claimed' AND lease_until <= ?
            """, arguments: [now.timeIntervalSince1970])
    }

    /// Batches, newest last, optionally with one status.
    public func listBatches(status: String? = nil, now: Date = Date()) throws -> [BatchSummary] {
        try pool.write { db in
            try expireLeases(db, now: now)
            if let status {
                return try Row.fetchAll(db, sql: "SELECT * FROM batches WHERE status = ? ORDER BY opened_at", arguments: [status]).map(Self.summary)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM batches ORDER BY opened_at").map(Self.summary)
        }
    }

    /// Claims up to `max` ready batches, oldest sealed first, for `lease` seconds.
    public func claim(max: Int, lease: TimeInterval, consumer: String, now: Date = Date()) throws -> [BatchSummary] {
        try pool.write { db in
            try expireLeases(db, now: now)
            let ids = try String.fetchAll(db, sql: "SELECT id FROM batches WHERE status = 'ready' ORDER BY sealed_at, id LIMIT ?",
                                          arguments: [Swift.max(0, max)])
            for id in ids {
                try db.execute(sql: """
                    UPDATE batches SET status = 'claimed', lease_until = ?, claimed_by = ?, deliveries = deliveries + 1 WHERE id = ?
                    """, arguments: [now.timeIntervalSince1970 + lease, consumer, id])
            }
            return try ids.compactMap { try Row.fetchOne(db, sql: "SELECT * FROM batches WHERE id = ?", arguments: [$0]).map(Self.summary) }
        }
    }

    /// Acknowledges a claimed batch. Idempotent: acking an acked batch succeeds again.
    public func ack(batchID: String, now: Date = Date()) throws -> BatchSummary {
        try pool.write { db in
            try expireLeases(db, now: now)
            let b = try Self.batchRow(db, batchID)
            let status: String = b["status"]
            switch status {
            case "acked": return Self.summary(b)
            case "claimed":
                try db.execute(sql: "UPDATE batches SET status = 'acked', acked_at = ?, lease_until = NULL WHERE id = ?",
                               arguments: [now.timeIntervalSince1970, batchID])
                return Self.summary(try Self.batchRow(db, batchID))
            default:
                throw FluxError("not-claimed", "batch \(batchID) is \(status): claim it (or claim it again, its lease may have expired) before acknowledging")
            }
        }
    }

    /// Gives a claimed batch back to the queue at once.
    public func nack(batchID: String, now: Date = Date()) throws -> BatchSummary {
        try pool.write { db in
            try expireLeases(db, now: now)
            let b = try Self.batchRow(db, batchID)
            let status: String = b["status"]
            switch status {
            case "claimed":
                try db.execute(sql: "UPDATE batches SET status = 'ready', lease_until = NULL, claimed_by = NULL WHERE id = ?", arguments: [batchID])
                return Self.summary(try Self.batchRow(db, batchID))
            case "ready": return Self.summary(b)
            default:
                throw FluxError("not-claimed", "batch \(batchID) is \(status) and cannot be given back")
            }
        }
    }

    /// The manifest, signature and files of a sealed batch.
    public func batchContent(batchID: String) throws -> BatchContent {
        try pool.read { db in
            guard let b = try Row.fetchOne(db, sql: "SELECT * FROM batches WHERE id = ?", arguments: [batchID]) else {
                throw FluxError("not-found", "no batch \(batchID)")
            }
            guard let manifest: Data = b["manifest"], let signature: Data = b["signature"] else {
                throw FluxError("not-sealed", "batch \(batchID) is still open")
            }
            let rows = try Row.fetchAll(db, sql: """
                SELECT i.member_name, i.sha256 FROM batch_invoices bi JOIN invoices i ON i.id = bi.invoice_id WHERE bi.batch_id = ? ORDER BY bi.position
                """, arguments: [batchID])
            let files = rows.enumerated().map { (n, r) in (name: Self.archiveName(position: n, member: r["member_name"]), sha256: r["sha256"] as String) }
            return BatchContent(summary: Self.summary(b), manifest: manifest, signature: signature, files: files)
        }
    }

    static func batchRow(_ db: Database, _ batchID: String) throws -> Row {
        guard let b = try Row.fetchOne(db, sql: "SELECT * FROM batches WHERE id = ?", arguments: [batchID]) else {
            throw FluxError("not-found", "no batch \(batchID)")
        }
        return b
    }

    static func summary(_ r: Row) -> BatchSummary {
        BatchSummary(id: r["id"], company: r["company"], seller: r["seller_key"], buyer: r["buyer_key"], month: r["month"],
                     status: r["status"], invoiceCount: r["invoice_count"], bytes: r["bytes"],
                     openedAt: iso(r["opened_at"]) ?? "", sealedAt: iso(r["sealed_at"]), sealReason: r["seal_reason"],
                     leaseUntil: iso(r["lease_until"]), deliveries: r["deliveries"])
    }
}
