import FluxCore
import FluxCrypto
import FluxInvoice
import FluxStore
import Foundation
import Logging
import Synchronization

/// The outcome of processing one claimed file, for logs, metrics and tests.
public struct IntakeResult: Sendable {
    public var messageID: String
    public var partner: String
    public var fileName: String
    public var outcome: DepositOutcome
    public var receipt: ReceiptFiles
    public var journal: [JournalEntry]
}

/// One deposit's whole path, synchronous and blocking (file I/O, fsync, SQLite): claim by
/// rename → spool → inspect → one transaction → drop the claimed file → deliver the receipt.
/// Each step is safe to repeat after a crash at any point (see `recoverClaimed`).
public final class IntakeProcessor: Sendable {
    let spool: Spool
    let store: SQLiteStore
    let inspector: FluxInspector
    let composer: @Sendable () -> ReceiptComposer
    let configProvider: @Sendable () -> GatewayConfig
    let logger: Logger
    let events: EventLog
    /// Who is delivering which receipt. A receipt is committed by a worker, which then writes it
    /// into the outbox (or has the `ReceiptDeliverer` write it), and it is marked delivered in
    /// the database only later, with many others in
    /// one commit (`flushDeliveryMarks`, each maintenance pass). The maintenance pass redelivers
    /// what is committed and unmarked (a crash before the mark only means the files are written
    /// again), so it must skip both kinds: without this it wrote every receipt still in a
    /// worker's hands a second time, and loaded it whole to do so (an archive's 5,000 documents).
    struct Deliveries {
        /// Committed or about to be, and still in the hands of the worker that deposited them or
        /// of the `ReceiptDeliverer` thread writing their receipt.
        var inFlight = Set<String>()
        /// Written into the outbox, not yet marked in the database; they leave this set only
        /// once the mark is committed.
        var unmarked = Set<String>()

        func owned(_ id: String) -> Bool { inFlight.contains(id) || unmarked.contains(id) }
    }
    let deliveries = Mutex(Deliveries())
    /// When set, committed receipts are written by its threads instead of the worker's.
    public let deliverer: ReceiptDeliverer?
    /// Bounds the deposits being understood and signed at once (CPU work), while more of them
    /// wait on the disk or the group commit (see `IntakeService`). Nil: no bound of its own.
    let understanding: DispatchSemaphore?
    /// Clients waiting on the gateway (SFTP, AS2): the intake stays narrow beside them.
    public let foreground = ForegroundActivity()

    public init(spool: Spool, store: SQLiteStore, inspector: FluxInspector, composer: @escaping @Sendable () -> ReceiptComposer,
                config: @escaping @Sendable () -> GatewayConfig, deliverer: ReceiptDeliverer? = nil, understandingAtOnce: Int? = nil,
                logger: Logger) {
        self.understanding = understandingAtOnce.map { DispatchSemaphore(value: max(1, $0)) }
        self.spool = spool; self.store = store; self.inspector = inspector; self.composer = composer
        self.configProvider = config; self.deliverer = deliverer; self.logger = logger; self.events = EventLog(logger: logger)
    }

    /// The private claim directory of a watched directory: beside the inbox for the partner's
    /// own drop zone, inside an extra directory otherwise (a rename must stay on one filesystem).
    public static func claimDirectory(for directory: String, partner: String, config: GatewayConfig) -> String {
        directory == config.inbox(partner) ? config.claimDir(partner) : directory + "/.flux-claimed"
    }

    /// Claims and processes one candidate. Returns nil when someone else claimed it first.
    @discardableResult
    public func process(_ c: DropZoneCandidate) throws -> IntakeResult? {
        let config = configProvider()
        guard config.partner(c.partner) != nil else { return nil }
        // Only regular files are deposits: a symlink planted in a drop zone must not make the
        // gateway read (and spool) whatever it points to, nor a FIFO block a worker.
        var st = stat()
        guard lstat(c.path, &st) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            logger.warning("drop zone entry ignored: not a regular file (links, FIFOs and devices are never read)",
                           metadata: ["flux_company": "\(c.partner)", "path": "\(c.path)"])
            return nil
        }
        let claimDir = Self.claimDirectory(for: c.directory, partner: c.partner, config: config)
        try FileManager.default.createDirectory(atPath: claimDir, withIntermediateDirectories: true)
        let messageID = RandomID.uuid()
        let claimed = "\(claimDir)/\(ClaimName(messageID: messageID, original: c.name).fileName)"
        if rename(c.path, claimed) != 0 {
            if errno == ENOENT { return nil }  // already claimed by a concurrent event or rescan
            throw FluxError("claim", "cannot claim \(c.path): \(errnoString())")
        }
        // The claim's rename is made durable with the deposit's commit (the group fsyncs the
        // claim directory once for all its deposits): until then a power loss can only put the
        // file back in the inbox, where it is taken again, and nothing was acknowledged.
        CrashPoint.hit("intake.claimed")
        let result = try processClaimed(path: claimed, partner: c.partner, messageID: messageID, fileName: c.name, channel: "dropzone",
                                        syncClaim: true)
        // The .ok has served its purpose. Only in trigger mode: an unlink locks the drop zone's
        // directory even when there is nothing to remove, and behind the renames of a busy
        // inbox that wait was 1.5 ms per deposit (off-CPU profile, stop 23).
        if c.triggered { unlink(c.path + ".ok") }
        return result
    }

    /// Processes a claimed file (fresh or found at start-up) to the end. Idempotent per message id.
    /// With `syncClaim`, the claim (the file's entry in its directory) is not durable yet: the
    /// commit makes it so first.
    public func processClaimed(path: String, partner partnerID: String, messageID: String, fileName: String, channel: String,
                               syncClaim: Bool = false) throws -> IntakeResult? {
        let config = configProvider()
        guard let partner = config.partner(partnerID) else {
            logger.error("claimed file of an unknown partner left in place", metadata: ["path": "\(path)"])
            return nil
        }
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            // Swapped for a link or a FIFO between the check and the claim: not a deposit.
            unlink(path)
            logger.error("claimed entry dropped: not a regular file", metadata: ["flux_company": "\(partnerID)", "path": "\(path)"])
            return nil
        }
        let receivedAt = Date()
        // An SFTP upload was staged by the gateway itself: nobody else holds it, so it is linked
        // into the spool instead of copied. A drop-zone file is linked too when a read lease
        // proves nobody has it open for writing (the gateway owns it: same user); otherwise
        // (another user's file, a writer still attached, another filesystem) it is copied, so a
        // late write can never change a spooled original. Linking also frees no inode per
        // deposit, which on ext4 keeps inode allocation cheap under churn.
        let entry = channel == "sftp" || WriterCheck.provablyNoWriter(path: path) ? try spool.adopt(file: path) : try spool.store(file: path)
        CrashPoint.hit("intake.spooled")
        // The CPU part (parse, check, sign) takes a slot of the gate; the wait for the commit
        // does not, except for an archive: its facts and signed receipts (thousands of
        // documents) must not pile up by the dozen behind a slow disk.
        understanding?.wait()
        var holdsSlot = understanding != nil
        defer { if holdsSlot { understanding?.signal() } }
        let deposit = try makeDeposit(entry: entry, fileName: fileName, partner: partner.identity, messageID: messageID,
                                      channel: channel, receivedAt: receivedAt)
        // Signed before the write lock, from the verdicts of a deposit that repeats no accepted
        // invoice; re-signed inside only when the transaction finds a duplicate.
        let predicted = store.predictOutcome(deposit)
        let presigned = try composer().compose(predicted, deposit: deposit, now: Date())
        if holdsSlot, deposit.items.count <= 1 {
            holdsSlot = false
            understanding?.signal()
        }
        let composer = self.composer
        // From before the commit until the receipt is written: the maintenance pass keeps off.
        // A receipt handed to the deliverer stays in flight until its thread has written it.
        deliveries.withLock { _ = $0.inFlight.insert(messageID) }
        var handedOver = false
        defer { if !handedOver { deliveries.withLock { _ = $0.inFlight.remove(messageID) } } }
        let (outcome, receipt, journal) = try store.recordDeposit(deposit, presigned: (predicted, presigned),
                                                                  syncing: syncClaim ? PathParts.directory(of: path) : nil) { outcome in
            try composer().compose(outcome, deposit: deposit, now: Date())
        }
        CrashPoint.hit("intake.committed")
        // Committed: the original may leave the drop zone now, and the receipt may go out. The
        // unlink needs no directory fsync: if a crash undoes it, recovery finds the message
        // committed and removes the file again.
        unlink(path)
        if let deliverer, deliverer.offer(receipt, config: config, processor: self) {
            handedOver = true
        } else {
            try deliver(receipt, config: config)
        }
        for e in journal { events.journal(e) }
        for b in outcome.sealedBatches { events.batchSealed(b) }
        Metrics.deposit(outcome)
        return IntakeResult(messageID: messageID, partner: partnerID, fileName: fileName, outcome: outcome, receipt: receipt, journal: journal)
    }

    /// Understands a spooled original and builds the deposit to record. Members are spooled as
    /// they are read, so an archive never sits in memory whole; a single file is its own original.
    public func makeDeposit(entry: SpoolEntry, fileName: String, partner: PartnerIdentity, messageID: String, channel: String,
                            receivedAt: Date) throws -> Deposit {
        let spooledPath = spool.path(for: entry.sha256)
        let archive = FluxInspector.isArchive(path: spooledPath)
        var memberEntries: [SpoolEntry] = []
        let report = try inspector.inspect(path: spooledPath, fileName: fileName) { item in
            memberEntries.append(archive ? try self.spool.store(data: item.content) : entry)
        }
        var items: [DepositItem] = []
        items.reserveCapacity(report.items.count)
        for (item, e) in zip(report.items, memberEntries) {
            items.append(DepositItem(name: item.name, spool: e, facts: item.facts, anomalies: item.anomalies, warnings: item.warnings))
        }
        return Deposit(messageID: messageID, partner: partner, channel: channel, fileName: fileName, spool: entry,
                       format: report.format, receivedAt: receivedAt, fluxAnomalies: report.fluxAnomalies, items: items)
    }

    /// Writes a committed receipt into the partner's outbox (signature first, so the CDAR never
    /// appears without its .p7s) and records the delivery. Safe to repeat.
    /// With `durable: false` (the deliverer's threads) no file is fsynced and the receipt is not
    /// counted as written: the caller reports it through `receiptsSynced` after its `syncfs`.
    public func deliver(_ receipt: ReceiptFiles, config: GatewayConfig, durable: Bool = true) throws {
        let outbox = config.outbox(receipt.company)
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        // One write of the whole receipt: signatures renamed in before their documents; when
        // durable, every file fsynced and one directory sync.
        var files: [(data: Data, path: String)] = []
        for doc in receipt.documents {
            files.append((doc.signature, "\(outbox)/\(doc.fileName).p7s"))
            files.append((doc.cdar, "\(outbox)/\(doc.fileName)"))
        }
        try DurableFile.writeAll(files, durable: durable)
        if durable { receiptsSynced([receipt.messageID], error: nil) }
    }

    /// Receipts whose files are durable (they may be marked delivered), or not (left unmarked,
    /// so the maintenance pass writes them again, fsynced): one written by `deliver`, or the
    /// deliverer's receipts of one `OutboxSyncer` round. In one step, so the maintenance pass
    /// never sees them neither in flight nor unmarked.
    func receiptsSynced(_ ids: [String], error: FluxError?) {
        let pending = deliveries.withLock { d -> Int in
            d.inFlight.subtract(ids)
            if error == nil { d.unmarked.formUnion(ids) }
            return d.unmarked.count
        }
        if pending >= 512 { flushDeliveryMarks() }
    }

    /// Start-up recovery: every claimed file is either committed (drop it) or not (process it
    /// under the same message id, so a crash never yields two messages for one file); every
    /// committed receipt not yet in an outbox is delivered.
    /// Returns how many claimed files are still waiting (failed again, or too young to touch).
    @discardableResult
    public func recoverClaimed(targets: [WatchTarget], claimedBefore: Date? = nil) -> Int {
        var waiting = 0
        let config = configProvider()
        var dirs: [(String, String)] = []
        for t in targets {
            let d = Self.claimDirectory(for: t.directory, partner: t.partner, config: config)
            if !dirs.contains(where: { $0.0 == d }) { dirs.append((d, t.partner)) }
        }
        for (dir, partner) in dirs {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for n in names.sorted() {
                guard let claim = ClaimName(parsing: n) else { continue }
                let (id, original) = (claim.messageID, claim.original)
                let path = "\(dir)/\(n)"
                if let limit = claimedBefore {
                    // ctime is the claim (rename) time; younger claims may still be in a worker
                    var st = stat()
                    guard stat(path, &st) == 0, Double(st.st_ctim.tv_sec) < limit.timeIntervalSince1970 else { waiting += 1; continue }
                }
                do {
                    if try store.messageExists(id) {
                        unlink(path)
                        logger.info("recovered: claimed file already committed, removed", metadata: ["message_id": "\(id)", "file": "\(original)"])
                    } else if !claim.bytesMatch(at: path) {
                        try dropIncompleteUpload(path: path, partner: partner, claim: claim)
                    } else {
                        logger.notice("recovered: processing a claimed file left by a crash", metadata: ["message_id": "\(id)", "file": "\(original)"])
                        _ = try processClaimed(path: path, partner: partner, messageID: id, fileName: original, channel: "dropzone",
                                               syncClaim: true)
                    }
                } catch {
                    waiting += 1
                    logger.error("recovery of a claimed file failed; it stays claimed and is retried",
                                 metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
        }
        Metrics.redelivered(deliverPendingReceipts())
        return waiting
    }

    /// An SFTP upload claimed before its bytes were durable, whose bytes did not all survive the
    /// crash that followed: its CLOSE was never answered, so the client still has it to send.
    private func dropIncompleteUpload(path: String, partner: String, claim: ClaimName) throws {
        logger.notice("recovered: dropped an SFTP upload claimed just before a crash, whose bytes did not all reach the disk (never acknowledged)",
                      metadata: ["message_id": "\(claim.messageID)", "file": "\(claim.original)"])
        if let p = configProvider().partner(partner) {
            try store.recordEvent(company: partner, draft: JournalDraft(
                at: Date(), direction: "received", channel: "sftp", kind: "upload", messageID: "sftp-abort-\(claim.messageID)",
                fileName: claim.original, sha256: "", size: claim.check?.size ?? 0, sender: p.identity.journalParty,
                receiver: store.gatewayParty, status: "aborted",
                anomalies: ["SFTP-ABORTED: the upload of \(claim.original) was interrupted by a crash before it was saved; it was never acknowledged, nothing was taken in"]))
        }
        unlink(path)
    }

    /// Records the deliveries written since the last call, in one transaction. The ids stay
    /// "unmarked" until that commit is done, so a concurrent maintenance pass never takes them
    /// for undelivered ones. Two flushes at once may mark an id twice: harmless.
    public func flushDeliveryMarks() {
        let ids = deliveries.withLock { $0.unmarked }
        guard !ids.isEmpty else { return }
        do {
            try store.markReceiptsDelivered(Array(ids))
            deliveries.withLock { $0.unmarked.subtract(ids) }
        } catch {
            logger.error("cannot mark receipts delivered, will retry", metadata: ["count": "\(ids.count)", "error": "\(error)"])
        }
    }

    /// Delivers committed receipts still missing from an outbox (a crash or a failed write
    /// left them), one at a time, skipping those a worker is delivering or has delivered.
    /// Returns how many it wrote.
    @discardableResult
    public func deliverPendingReceipts() -> Int {
        flushDeliveryMarks()
        let config = configProvider()
        var written = 0
        do {
            for id in try store.undeliveredReceiptIDs() where !deliveries.withLock({ $0.owned(id) }) {
                do {
                    guard let r = try store.receipt(messageID: id) else { continue }
                    // Checked again: the worker may have finished in between (it would only
                    // mean writing the same files again, but an archive's receipt is large).
                    if deliveries.withLock({ $0.owned(id) }) { continue }
                    try deliver(r, config: config)
                    written += 1
                } catch {
                    logger.error("receipt delivery failed, will retry", metadata: ["message_id": "\(id)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("cannot list pending receipts", metadata: ["error": "\(error)"])
        }
        return written
    }
}
