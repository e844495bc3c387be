import FluxStore
import Foundation
import Logging
import ServiceLifecycle

/// Periodic work: seal batches that reached their age, redeliver receipts, rescan drop zones
/// (a safety net for missed events and NFS), refresh the queue gauges, pet the watchdog.
public struct MaintenanceService: Service {
    let store: SQLiteStore
    let processor: IntakeProcessor
    let intake: IntakeService
    let interval: Double
    let logger: Logger

    public init(store: SQLiteStore, processor: IntakeProcessor, intake: IntakeService, interval: Double, logger: Logger) {
        self.store = store; self.processor = processor; self.intake = intake; self.interval = interval; self.logger = logger
    }

    public func run() async throws {
        let watchdog = SystemdNotifier.watchdogInterval
        var lastRescan = Date()
        var lastWatchdog = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let sealed = try await Blocking.run { try store.sealExpiredBatches() }
                for id in sealed { logger.info("batch sealed and ready", metadata: ["flux_batch": "\(id)", "reason": "age"]) }
                Metrics.sealed(sealed.count)
                Metrics.redelivered(try await Blocking.run { processor.deliverPendingReceipts() })
                if let depth = try? store.queueDepth() { Metrics.queueDepth(depth) }
                Metrics.groupCommits(store.committer.stats)
            } catch {
                logger.error("maintenance pass failed", metadata: ["error": "\(error)"])
            }
            do {
                // Off the group commit's serial section (see `SQLiteStore.checkpointWAL`).
                _ = try await Blocking.run { try store.checkpointWAL() }
            } catch {
                // Busy (the writer's own fallback checkpoint is running) or failing storage,
                // which the next commit reports loudly anyway: the next pass tries again.
                logger.notice("WAL checkpoint skipped", metadata: ["error": "\(error)"])
            }
            let sinceRescan = Date().timeIntervalSince(lastRescan)
            let retrying = intake.retryNeeded.load(ordering: .relaxed)
            if sinceRescan >= 30 || (sinceRescan >= 5 && retrying) {
                intake.rescan()
                // a deposit that failed (disk full, database busy...) stays claimed: retry it here
                // rather than only at the next start; the message id makes a retry idempotent.
                // Younger claims may still be in a worker's hands (a retry would only be
                // redundant: the commit checks the message id).
                intake.retryNeeded.store(false, ordering: .relaxed)
                let targets = intake.targets()
                let before = Date().addingTimeInterval(retrying ? -5 : -60)
                let left = (try? await Blocking.run { processor.recoverClaimed(targets: targets, claimedBefore: before) }) ?? 1
                if retrying && left > 0 { intake.retryNeeded.store(true, ordering: .relaxed) }
                lastRescan = Date()
            }
            if let w = watchdog, Date().timeIntervalSince(lastWatchdog) >= w {
                SystemdNotifier.notify("WATCHDOG=1"); lastWatchdog = Date()
            }
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)), tolerance: .milliseconds(50))
        }
    }
}
