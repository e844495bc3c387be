import FluxCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Feeds watcher candidates to the blocking `IntakeProcessor` on a few dedicated threads.
/// On graceful shutdown it stops taking new files, finishes the deposits in flight and returns;
/// files not yet claimed stay in their inbox for the next start.
public final class IntakeService: Service, Sendable {
    let processor: IntakeProcessor
    let watcher: DropZoneWatcher
    let targets: @Sendable () -> [WatchTarget]
    let concurrency: Int
    let logger: Logger
    let stream: AsyncStream<DropZoneCandidate>
    let continuation: AsyncStream<DropZoneCandidate>.Continuation
    let inFlight = Mutex(Set<String>())
    /// Set once start-up recovery has run: `/readyz` answers ready after that.
    public let ready = Atomic<Bool>(false)

    public init(processor: IntakeProcessor, quietPeriod: Double, concurrency: Int, targets: @escaping @Sendable () -> [WatchTarget], logger: Logger) {
        self.processor = processor
        self.targets = targets
        self.concurrency = concurrency
        self.logger = logger
        let (s, c) = AsyncStream<DropZoneCandidate>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        self.stream = s
        self.continuation = c
        self.watcher = DropZoneWatcher(quietPeriod: quietPeriod, logger: logger) { c.yield($0) }
    }

    /// Re-reads the watched directories (SIGHUP).
    public func reload() throws {
        try watcher.setTargets(targets())
    }

    public func rescan() { watcher.rescan() }

    public func run() async throws {
        let t = targets()
        try watcher.setTargets(t)
        try await Blocking.run { self.processor.recoverClaimed(targets: t) }
        ready.store(true, ordering: .releasing)
        watcher.start()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                var running = 0
                for await c in stream {
                    let dup = inFlight.withLock { set -> Bool in
                        if set.contains(c.path) { return true }
                        set.insert(c.path); return false
                    }
                    if dup { continue }
                    if running >= concurrency { await group.next(); running -= 1 }
                    running += 1
                    group.addTask {
                        await self.handle(c)
                        _ = self.inFlight.withLock { $0.remove(c.path) }
                    }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.watcher.stop()
            self.continuation.finish()
        }
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
            // The file stays claimed and is retried at the next start; say so loudly.
            logger.error("deposit failed; the claimed file is kept and retried at restart",
                         metadata: ["flux_company": "\(c.partner)", "flux_file": "\(c.name)", "error": "\(error)"])
        }
    }
}

/// Runs blocking work (fsync, SQLite, libxml2) off the cooperative pool.
public enum Blocking {
    static let queue = DispatchQueue(label: "flux-blocking", attributes: .concurrent)

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { cont in
            queue.async { cont.resume(with: Result { try body() }) }
        }
    }
}
