import FluxStore
import Foundation
import Logging
import NIOCore
import Synchronization

/// Writes committed receipts into the outboxes on a few threads of their own, so that an intake
/// worker goes on to its next deposit as soon as its transaction is durable.
///
/// Why: a receipt is four files, each fsynced before its rename, then the outbox's fsync. On this
/// kind of disk those five fsyncs were as long as the rest of the deposit, and the worker sat in
/// them; more workers would overlap them too, but also run more parsing at once, on the cores
/// the SFTP sessions need. These threads only wait on the disk.
///
/// A receipt is handed over only once committed in the database. Its files are written without
/// fsyncs and made durable by the `OutboxSyncer`'s next `syncfs`, shared by every receipt written
/// meanwhile; one that is never made durable (a crash, a failed write or sync) stays unmarked in
/// the database, so the maintenance pass or the next start writes it, fsynced file by file. The
/// deposit stays in `Deliveries.inFlight` until its sync is done, so the maintenance pass never
/// writes it at the same time.
public final class ReceiptDeliverer: Sendable {
    struct Job: Sendable {
        var receipt: ReceiptFiles
        var config: GatewayConfig
    }

    struct State {
        var queue = CircularBuffer<Job>()
        var queuedDocuments = 0
        var running = 0
        var pending: Int { queue.count }
    }

    let state = Mutex(State())
    let threads: Int
    /// Receipts held in memory at most, counted in documents (an archive's receipt has one per
    /// invoice): past it the worker writes its receipt itself, which is the back-pressure.
    let maxQueuedDocuments: Int
    let logger: Logger
    let syncer: OutboxSyncer

    public init(threads: Int = 4, maxQueuedDocuments: Int = 4096, logger: Logger) {
        self.threads = max(1, threads)
        self.maxQueuedDocuments = max(1, maxQueuedDocuments)
        self.logger = logger
        self.syncer = OutboxSyncer(logger: logger)
    }

    /// Queues a committed receipt. False when the queue is full: the caller writes it itself.
    func offer(_ receipt: ReceiptFiles, config: GatewayConfig, processor: IntakeProcessor) -> Bool {
        let documents = receipt.documents.count
        let startThread = state.withLock { s -> Bool? in
            if s.pending > 0 && s.queuedDocuments + documents > maxQueuedDocuments { return nil }
            s.queue.append(Job(receipt: receipt, config: config))
            s.queuedDocuments += documents
            guard s.running < threads else { return false }
            s.running += 1
            return true
        }
        guard let startThread else { return false }
        if startThread {
            Blocking.pool.submit { _ in self.drain(processor) }
        }
        return true
    }

    private func drain(_ processor: IntakeProcessor) {
        Blocking.lowerPriority()
        // Bounded by the queue: every pass takes one job, and the thread leaves when it is empty.
        while let job = next() {
            let id = job.receipt.messageID
            do {
                let epoch = syncer.epoch
                try processor.deliver(job.receipt, config: job.config, durable: false)
                syncer.add(id, directory: job.config.outbox(job.receipt.company), epoch: epoch) { ids, error in
                    processor.receiptsSynced(ids, error: error)
                }
            } catch {
                logger.error("receipt delivery failed, will retry", metadata: ["flux_message_id": "\(id)", "error": "\(error)"])
                processor.deliveries.withLock { _ = $0.inFlight.remove(id) }
            }
        }
    }

    private func next() -> Job? {
        state.withLock { s -> Job? in
            guard let job = s.queue.popFirst() else {
                s.running -= 1
                return nil
            }
            s.queuedDocuments -= job.receipt.documents.count
            return job
        }
    }

    /// True when nothing is queued, being written or waiting for its sync.
    public var idle: Bool { state.withLock { $0.pending == 0 && $0.running == 0 } && syncer.idle }

    /// Waits (at most `timeout`) for the queued receipts to be written and synced: on a graceful stop.
    /// Receipts left unwritten at the deadline are written at the next start.
    public func waitUntilIdle(timeout: Duration = .seconds(30)) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while !idle, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
