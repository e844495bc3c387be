import FluxCore
import FluxInvoice
import Foundation
import GRDB
import Synchronization

/// The embedded store: SQLite in WAL mode with `synchronous=FULL`, so a committed transaction
/// survives power loss. Several processes (the daemon and the CLI) may open it at once.
///
/// Everything one deposit changes is written in one transaction (`recordDeposit`); sequence
/// numbers and dedupe come from the database, never from process memory, so the same logic
/// holds when the PostgreSQL backend shares a queue between instances.
public final class SQLiteStore: Sendable {
    public let pool: DatabasePool
    /// Deposits and AS2 exchanges of concurrent callers share one transaction and one fsync.
    public let committer: GroupCommitter
    public let policy: BatchPolicy
    /// Signs batch manifests (detached CMS, DER); injected so the store knows no keys.
    let signer: @Sendable (Data) throws -> Data
    let gateway: JournalParty
    let path: String
    /// A connection of its own for WAL checkpoints (`checkpointWAL`), opened at the first one.
    /// None after `close`.
    let checkpointConnection = Mutex<(queue: DatabaseQueue?, closed: Bool)>((nil, false))
    /// The writer checkpoints by itself only past this many WAL pages (SQLite's default is
    /// 1,000): a fallback for when `checkpointWAL` is not called or cannot keep up.
    public static let writerCheckpointPages = 10_000

    public init(path: String, policy: BatchPolicy = BatchPolicy(), gateway: JournalParty = JournalParty(code: "GATEWAY", name: "flux-gateway", role: "platform"),
                signer: @escaping @Sendable (Data) throws -> Data) throws {
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Statement journals (one per savepoint of a group commit) and sort files stay in
            // memory: as files they were created and deleted in /var/tmp for every deposit.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        self.pool = try DatabasePool(path: path, configuration: config)
        // Again on the writer, after the pool's own set-up: GRDB's DatabasePool switches the
        // writer to WAL *after* `prepareDatabase` and sets `synchronous = NORMAL` with it, so the
        // FULL above never held for writes. Under NORMAL a commit is not fsynced (only
        // checkpoints are): a power loss could take back deposits already acknowledged.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // SQLite's automatic checkpoint runs in the commit that crosses the threshold, so
            // inside the group commit's serial section (7.7% of its samples, stop 21): the
            // maintenance pass checkpoints from a connection of its own instead.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.writerCheckpointPages)")
        }
        self.path = path
        self.committer = GroupCommitter(writer: pool)
        self.policy = policy
        self.signer = signer
        self.gateway = gateway
        try StoreSchema.migrator().migrate(pool)
    }

    /// Closes the database at shutdown, so that the last connection checkpoints the WAL into the
    /// database file and removes it. Without it the connections close only when the last
    /// reference to the store goes, and one held a little longer (a signal handler's block, a
    /// task still unwinding) let the daemon exit with them open, leaving the WAL behind (6 of 8
    /// short intake benchmark runs, stop 24). Commits already queued are made first; any use
    /// afterwards throws.
    ///
    /// SQLite removes the WAL only when the connection that closes last can write: the pool
    /// closes its writer before its read-only readers, so the checkpoint connection (opened
    /// here if no checkpoint has run yet) closes after the pool.
    ///
    /// Idempotent; also run when the store is released (the command line's stores), except on
    /// the committer's own thread, where the pool's connections close as before.
    public func close() throws {
        committer.close()
        let last = try checkpointConnection.withLock { c -> DatabaseQueue? in
            if c.closed { return nil }
            c.closed = true
            defer { c.queue = nil }
            return try c.queue ?? openCheckpointConnection()
        }
        guard let last else { return }
        try pool.close()
        try last.close()
    }

    deinit {
        if !committer.isCommitterThread { try? close() }
    }

    /// Copies the WAL's committed pages into the database file (a PASSIVE checkpoint: it waits
    /// for no reader or writer) from a connection of its own, so the writer's commits never do
    /// it. Returns the WAL's frames and how many of them are checkpointed. Blocking (it fsyncs
    /// the database file): call it from a thread that may wait on the disk.
    @discardableResult
    public func checkpointWAL() throws -> (frames: Int, checkpointed: Int) {
        let connection = try checkpointConnection.withLock { c -> DatabaseQueue in
            if c.closed { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the store is closed") }
            if let q = c.queue { return q }
            let opened = try openCheckpointConnection()
            c.queue = opened
            return opened
        }
        return try connection.writeWithoutTransaction { db in
            let r = try db.checkpoint(.passive)
            return (r.walFrameCount, r.checkpointedFrameCount)
        }
    }

    private func openCheckpointConnection() throws -> DatabaseQueue {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        return try DatabaseQueue(path: path, configuration: config)
    }

    /// Whether a message id has been committed (crash recovery of claimed files).
    public func messageExists(_ id: String) throws -> Bool {
        try pool.read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM messages WHERE id = ?", arguments: [id]) ?? false }
    }

    /// Keeps the partner file in step with the configuration: new partners appear, changed
    /// names and addresses are updated, partners no longer configured get an exit date.
    public func syncPartners(_ partners: [PartnerIdentity], now: Date = Date()) throws {
        try pool.write { db in
            let t = now.timeIntervalSince1970
            for p in partners {
                try db.execute(sql: """
                    INSERT INTO partner_file (id, name, address, siren, roles, updated_at) VALUES (?,?,?,?,?,?)
                    ON CONFLICT(id) DO UPDATE SET name = excluded.name, address = excluded.address, siren = excluded.siren,
                        roles = excluded.roles, updated_at = excluded.updated_at, exit_at = NULL
                    """, arguments: [p.id, p.name, p.address, p.siren, p.roles.joined(separator: ","), t])
            }
            let ids = partners.map(\.id)
            let rows = try String.fetchAll(db, sql: "SELECT id FROM partner_file WHERE exit_at IS NULL")
            for id in rows where !ids.contains(id) {
                try db.execute(sql: "UPDATE partner_file SET exit_at = ?, updated_at = ? WHERE id = ?", arguments: [t, t, id])
            }
        }
    }

    /// The partner file.
    public func partnerFile() throws -> [PartnerFileEntry] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM partner_file ORDER BY id").map { r in
                PartnerFileEntry(id: r["id"], name: r["name"], address: r["address"], siren: r["siren"], roles: r["roles"],
                                 firstExchangeAt: Self.iso(r["first_exchange_at"]), lastExchangeAt: Self.iso(r["last_exchange_at"]),
                                 exitAt: Self.iso(r["exit_at"]))
            }
        }
    }

    /// A stored invoice with its batch.
    public func invoice(id: String) throws -> InvoiceRecord? {
        try pool.read { db in
            guard let r = try Row.fetchOne(db, sql: """
                SELECT i.*, b.batch_id FROM invoices i LEFT JOIN batch_invoices b ON b.invoice_id = i.id
                WHERE i.id = ? OR i.number = ? ORDER BY i.received_at DESC LIMIT 1
                """, arguments: [id, id]) else { return nil }
            let anomalies: String = r["anomalies"]
            return InvoiceRecord(
                id: r["id"], messageID: r["message_id"], company: r["company"], memberName: r["member_name"],
                sha256: r["sha256"], size: r["size"], syntax: r["syntax"], number: r["number"], issueDate: r["issue_date"],
                typeCode: r["type_code"], currency: r["currency"], seller: r["seller_key"], buyer: r["buyer_key"],
                sellerName: r["seller_name"], buyerName: r["buyer_name"], totalWithoutVAT: r["total_without_vat"],
                totalVAT: r["total_vat"], totalWithVAT: r["total_with_vat"], status: r["status"],
                anomalies: (try? JSONDecoder().decode([String].self, from: Data(anomalies.utf8))) ?? [], batchID: r["batch_id"])
        }
    }

    /// Receipts committed but not yet written to the partner's outbox.
    public func undeliveredReceipts() throws -> [ReceiptFiles] {
        try undeliveredReceiptIDs().compactMap { try receipt(messageID: $0) }
    }

    /// The messages whose receipt is committed and not yet marked delivered, oldest first: ids
    /// only, so that a backlog (or one archive's thousands of documents) is loaded one receipt
    /// at a time by whoever delivers it.
    public func undeliveredReceiptIDs() throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT message_id FROM receipts WHERE delivered_at IS NULL GROUP BY message_id ORDER BY MIN(created_at)")
        }
    }

    /// One message's committed receipt, nil when it has none.
    public func receipt(messageID: String) throws -> ReceiptFiles? {
        try pool.read { db in try Self.receipt(db, messageID: messageID) }
    }

    public func markReceiptDelivered(_ messageID: String, at: Date = Date()) throws {
        try markReceiptsDelivered([messageID], at: at)
    }

    /// Several deliveries in one transaction (one commit, one WAL sync).
    public func markReceiptsDelivered(_ messageIDs: [String], at: Date = Date()) throws {
        guard !messageIDs.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(sql: "UPDATE receipts SET delivered_at = ? WHERE message_id = ?")
            for id in messageIDs { try statement.execute(arguments: [at.timeIntervalSince1970, id]) }
        }
    }

    /// Counts for metrics and readiness.
    public func queueDepth() throws -> [String: Int] {
        try pool.read { db in
            var out: [String: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM batches GROUP BY status") {
                out[r["status"]] = r["n"]
            }
            return out
        }
    }

    static func receipt(_ db: Database, messageID: String) throws -> ReceiptFiles? {
        // Cached: every deposit asks first (is this message id recorded already?), inside the
        // group commit's serial section, and preparing the statement was most of the answer.
        let rows = try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM receipts WHERE message_id = ? ORDER BY position"),
                                    arguments: [messageID])
        guard let first = rows.first else { return nil }
        return ReceiptFiles(messageID: messageID, company: first["company"], documents: rows.map {
            ReceiptDocument(fileName: $0["file_name"], cdar: $0["cdar"], signature: $0["signature"])
        })
    }

    static func iso(_ t: Double?) -> String? { t.map { JournalTime.format(Date(timeIntervalSince1970: $0)) } }
}
