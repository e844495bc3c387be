import FluxCore
import FluxStore
import Foundation
import Logging
import Synchronization

/// Makes the receipts that the `ReceiptDeliverer` wrote without fsyncs durable, many at a time:
/// one `syncfs` per filesystem for everything written since the last one. Only then are they
/// reported durable, and only then may they be marked delivered in the database.
///
/// Why: a receipt is four files and their directory; fsynced one by one that is five fsyncs per
/// deposit, more than the rest of the deposit takes (claim, spool, commit). Skipping them
/// altogether made the intake 19-29% faster (three alternating pairs, stop 20); one `syncfs` per
/// round costs about as much as one of them and serves every receipt of the round.
///
/// The guarantee does not move: a receipt is committed in the database before any of its files
/// is written, so a receipt that a crash or a power loss takes back is still unmarked there, and
/// the next start (or the maintenance pass) writes it again, fsynced file by file. A round
/// starts only after its receipts' renames returned, so its `syncfs` covers them. A failed
/// `syncfs` reports its receipts as failed, never as durable: they are left unmarked and written
/// again. Linux reports a writeback error to one `syncfs` of a descriptor, and that one may
/// belong to an earlier round than the receipt whose pages failed (a receipt written before the
/// round's sync, added after it). So every receipt whose writing began before a failed round
/// ended fails too (`epoch`), whatever its own round's result.
public final class OutboxSyncer: Sendable {
    struct Written: Sendable {
        var id: String
        var directory: String
        var epoch: UInt64
    }

    struct State {
        var waiting: [Written] = []
        var running = false
        var failedRounds: UInt64 = 0
    }

    let state = Mutex(State())
    let syncFilesystems: @Sendable (Set<String>) -> FluxError?
    let logger: Logger
    /// How long a round gathers receipts before its `syncfs`: only the delivered marks wait for
    /// it (the files are visible at once), and a round then serves ten or so receipts instead of
    /// one or two.
    let gather: Duration

    /// `syncFilesystems` replaces the real `syncfs` in tests.
    public init(logger: Logger, gather: Duration = .milliseconds(20),
                syncFilesystems: (@Sendable (Set<String>) -> FluxError?)? = nil) {
        self.logger = logger
        self.gather = gather
        let real = FileSystemSync()
        self.syncFilesystems = syncFilesystems ?? { real.sync($0) }
    }

    /// Read before writing a receipt's files, and given back to `add`.
    public var epoch: UInt64 { state.withLock { $0.failedRounds } }

    /// Records a receipt whose files are renamed into `directory` (writing them began at
    /// `epoch`); `done` gets the ids of every round with their result (every caller passes the
    /// same handler). The first receipt of an idle syncer starts a round on the blocking pool;
    /// later ones join the next round.
    func add(_ id: String, directory: String, epoch: UInt64, done: @escaping @Sendable (_ ids: [String], _ error: FluxError?) -> Void) {
        let start = state.withLock { s -> Bool in
            s.waiting.append(Written(id: id, directory: directory, epoch: epoch))
            if s.running { return false }
            s.running = true
            return true
        }
        if start { Blocking.pool.submit { _ in self.drain(done) } }
    }

    private func drain(_ done: @Sendable ([String], FluxError?) -> Void) {
        Blocking.lowerPriority()
        // Bounded by the writes: every round takes all that is waiting, and the thread leaves
        // when a round finds nothing.
        while let round = take(after: gather) {
            CrashPoint.hit("receipt.unsynced")
            // one syncfs per filesystem: the outboxes usually share one
            let error = syncFilesystems(Set(round.map(\.directory)))
            let failedRounds = state.withLock { s -> UInt64 in
                if error != nil { s.failedRounds += 1 }
                return s.failedRounds
            }
            let earlier = FluxError("syncfs", "a sync failed while this receipt was being written")
            let failed = round.filter { error != nil || $0.epoch < failedRounds }
            if !failed.isEmpty {
                logger.error("receipts written but not made durable: they will be written again", metadata: [
                    "count": "\(failed.count)", "error": "\(error ?? earlier)"])
                done(failed.map(\.id), error ?? earlier)
            }
            if failed.count < round.count {
                done(round.filter { error == nil && $0.epoch >= failedRounds }.map(\.id), nil)
            }
        }
    }

    private func take(after gather: Duration) -> [Written]? {
        if gather > .zero {
            let c = gather.components
            usleep(UInt32(c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000))
        }
        return state.withLock { s -> [Written]? in
            guard !s.waiting.isEmpty else {
                s.running = false
                return nil
            }
            defer { s.waiting.removeAll(keepingCapacity: true) }
            return s.waiting
        }
    }

    /// True when nothing waits for a sync and no round is running.
    public var idle: Bool { state.withLock { !$0.running && $0.waiting.isEmpty } }
}
