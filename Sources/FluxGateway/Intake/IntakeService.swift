import CFluxShims
import FluxCore
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A file already claimed by its producer (an SFTP upload renamed into the claim directory).
public struct ClaimedFile: Sendable {
    public var path: String
    public var partner: String
    public var messageID: String
    public var fileName: String
    public var channel: String
}

/// Work for the intake: a watcher candidate to claim, or a file a producer claimed itself.
enum IntakeWork: Sendable {
    case candidate(DropZoneCandidate)
    case claimed(ClaimedFile)

    /// A work item and when it was queued (monotonic nanoseconds): how far behind the intake is.
    struct Queued: Sendable {
        var work: IntakeWork
        var at = DispatchTime.now().uptimeNanoseconds
        /// Seconds since it was queued.
        var lag: Double { Double(DispatchTime.now().uptimeNanoseconds &- at) / 1e9 }
    }
    var key: String {
        switch self {
        case .candidate(let c): return c.path
        case .claimed(let f): return f.path
        }
    }
}

/// Feeds watcher candidates to the blocking `IntakeProcessor` on a few dedicated threads.
/// On graceful shutdown it stops taking new files, finishes the deposits in flight, waits for
/// their receipts to be written and returns; files not yet taken stay where they are (inbox or
/// claim directory) for the next start.
public final class IntakeService: Service, Sendable {
    /// Deposits in flight per one being understood (`concurrency` of them at once, the
    /// processor's gate) while no client waits on the gateway: the others wait on fsyncs or the
    /// group commit, which needs no CPU, and the more wait together the larger the groups.
    public static let waitingPerWorker = 6
    /// Beside waiting clients (`ForegroundActivity`) one deposit at a time, so their CLOSEs and
    /// MDNs get the cores and the disk, until the work being started has waited this long in
    /// the queue: then `concurrency`, so a steady stream of clients cannot starve the receipts.
    public static let maxForegroundLag = 2.0
    let processor: IntakeProcessor
    let watcher: DropZoneWatcher
    let targets: @Sendable () -> [WatchTarget]
    let concurrency: Int
    let logger: Logger
    let stream: AsyncStream<IntakeWork.Queued>
    let continuation: AsyncStream<IntakeWork.Queued>.Continuation
    let inFlight = Mutex(Set<String>())
    /// Set once start-up recovery has run: `/readyz` answers ready after that.
    public let ready = Atomic<Bool>(false)
    /// Set when a deposit failed (disk full, read-only or failing storage): the maintenance loop
    /// then retries claimed files every few seconds instead of every 30 s.
    public let retryNeeded = Atomic<Bool>(false)
    /// Set on graceful shutdown: queued work is no longer started.
    let stopping = Atomic<Bool>(false)

    public init(processor: IntakeProcessor, quietPeriod: Double, concurrency: Int, targets: @escaping @Sendable () -> [WatchTarget], logger: Logger) {
        self.processor = processor
        self.targets = targets
        self.concurrency = concurrency
        self.logger = logger
        let (s, c) = AsyncStream<IntakeWork.Queued>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        self.stream = s
        self.continuation = c
        self.watcher = DropZoneWatcher(quietPeriod: quietPeriod, logger: logger) { c.yield(IntakeWork.Queued(work: .candidate($0))) }
    }

    /// Re-reads the watched directories (SIGHUP).
    public func reload() throws {
        try watcher.setTargets(targets())
    }

    public func rescan() { watcher.rescan() }

    /// Queues a file its producer already claimed (durably renamed into a claim directory under
    /// `messageID`): crash recovery finds it there if the process dies first.
    public func submit(_ f: ClaimedFile) {
        processor.foreground.touch()
        continuation.yield(IntakeWork.Queued(work: .claimed(f)))
    }

    /// How many deposits may be in flight now, the next one having waited `lag` seconds.
    func limit(lag: Double) -> Int {
        Self.inFlightLimit(concurrency: concurrency, clientsWaiting: processor.foreground.recent, lag: lag)
    }

    /// Narrow beside waiting clients (one, or `concurrency` once the queue lags); otherwise
    /// wide, within the blocking pool (a few of its threads stay free for the maintenance pass).
    static func inFlightLimit(concurrency: Int, clientsWaiting: Bool, lag: Double) -> Int {
        if clientsWaiting { return lag < maxForegroundLag ? 1 : concurrency }
        return max(concurrency, min(concurrency * waitingPerWorker, Blocking.threads - 4))
    }

    public func run() async throws {
        let t = targets()
        try watcher.setTargets(t)
        _ = try await Blocking.run { self.processor.recoverClaimed(targets: t) }
        ready.store(true, ordering: .releasing)
        watcher.start()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await queued in stream {
                    let work = queued.work
                    // Stopping: what is still queued is left where it is, as after a crash (a
                    // drop-zone file in its inbox, an SFTP upload in its claim directory), and
                    // taken at the next start. Before stop 19 a stop processed the whole queue,
                    // up to 100,000 files, before it returned.
                    if stopping.load(ordering: .acquiring) { continue }
                    let key = work.key
                    let dup = inFlight.withLock { set -> Bool in
                        if set.contains(key) { return true }
                        set.insert(key); return false
                    }
                    if dup { continue }
                    while running >= limit(lag: queued.lag), running > 0 { await group.next(); running -= 1 }
                    running += 1
                    group.addTask {
                        switch work {
                        case .candidate(let c): await self.handle(c)
                        case .claimed(let f): await self.handle(f)
                        }
                        _ = self.inFlight.withLock { $0.remove(key) }
                    }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            self.watcher.stop()
            self.continuation.finish()
        }
        await processor.deliverer?.waitUntilIdle()
        processor.flushDeliveryMarks()
        logger.info("intake stopped: in-flight deposits finished")
    }

    func handle(_ c: DropZoneCandidate) async {
        do {
            if let r = try await Blocking.run({ try self.processor.process(c) }) {
                logger.info("deposit processed", metadata: [
                    "flux_company": "\(r.partner)", "flux_message_id": "\(r.messageID)", "flux_file": "\(r.fileName)",
                    "flux_status": "\(r.outcome.fluxAccepted ? "accepted" : "refused")",
                    "invoices_accepted": "\(r.outcome.items.filter(\.accepted).count)",
                    "invoices_rejected": "\(r.outcome.items.filter { !$0.accepted }.count)",
                ])
            }
        } catch {
            // The file stays claimed (durable) and is retried; say so loudly.
            retryNeeded.store(true, ordering: .relaxed)
            logger.error("deposit failed; the claimed file is kept and retried",
                         metadata: ["flux_company": "\(c.partner)", "flux_file": "\(c.name)", "error": "\(error)"])
        }
    }
}

extension IntakeService {
    func handle(_ f: ClaimedFile) async {
        do {
            _ = try await Blocking.run { try self.processor.processClaimed(path: f.path, partner: f.partner, messageID: f.messageID,
                                                                           fileName: f.fileName, channel: f.channel) }
        } catch {
            retryNeeded.store(true, ordering: .relaxed)
            logger.error("deposit failed; the claimed file is kept and retried", metadata: [
                "flux_company": "\(f.partner)", "flux_file": "\(f.fileName)", "flux_channel": "\(f.channel)", "error": "\(error)"])
        }
    }
}

/// Runs blocking work (fsync, SQLite, libxml2) off the cooperative pool, on threads of its own.
/// Not a dispatch queue: libdispatch sizes its pool by the number of cores and cannot see a
/// thread waiting in fsync(2), so on 2 cores two deposits at a time would wait on the disk while
/// the CPUs idle. These threads overlap those waits (the filesystem journal then commits many
/// fsyncs at once); `intake.concurrency` bounds how many deposits use them.
public enum Blocking {
    static let threads = 32
    static let pool: NIOThreadPool = {
        let p = NIOThreadPool(numberOfThreads: threads)
        p.start()
        return p
    }()

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive {
            lowerPriority()
            return try body()
        }
    }

    /// Deposits are processed behind the listeners: on a busy machine an SFTP or AS2 client is
    /// answered first (its data is already durable) and the intake catches up. Linux takes a
    /// nice value per thread; these threads serve only this queue, so setting it is idempotent.
    static func lowerPriority() {
        _ = flux_nice_this_thread(5)
    }
}
