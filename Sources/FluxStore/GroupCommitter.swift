import CFluxShims
import Foundation
import GRDB
import Synchronization

/// Group commit for the store's writes: concurrent callers share one SQLite transaction, each
/// in its own savepoint, so one WAL fsync makes a whole group durable instead of one fsync (and
/// one turn of the single writer) each. Nothing is acknowledged early: a caller returns only
/// after the transaction holding its work has committed. A caller whose work throws has its
/// savepoint rolled back and gets its error; the others are unaffected. If the commit itself
/// fails, every caller of the group gets that error and nothing of the group is written.
///
/// One thread of its own (`flux-commit`) takes what is pending, commits it, wakes the callers and
/// takes the next group; while one group commits the next one gathers, so groups grow with the
/// load and stay at one when there is none. Why a thread and not the first caller leading:
/// on disk the writer is busy 95% of the time under intake load, and a leading intake worker
/// ran at the intake's nice 5 among the other workers, so half of its transaction's wall time
/// was spent waiting for a core (0.58 ms per deposit for 0.30 ms of CPU, stop 23). The thread
/// is made by `init`, at the creator's priority (the daemon's: nice 0), and ends when the
/// committer is released.
///
/// Callers block: use it from blocking threads, never from the cooperative pool or an event
/// loop, and never from inside another write (the thread would wait for the writer it holds).
public final class GroupCommitter: Sendable {
    /// One waiting caller, woken with its result.
    final class Slot: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let syncDirectory: String?
        let result = Mutex<Result<any Sendable, any Error>?>(nil)
        let semaphore = DispatchSemaphore(value: 0)
        init(syncing directory: String?, _ work: @escaping @Sendable (Database) throws -> any Sendable) {
            self.syncDirectory = directory
            self.work = work
        }

        func finish(_ r: Result<any Sendable, any Error>) {
            result.withLock { $0 = r }
            semaphore.signal()
        }
    }

    struct State {
        var pending: [Slot] = []
        /// The thread waits for `wakeup`: the next caller signals it.
        var idle = false
        var stopping = false
    }

    /// What the thread needs, without the committer itself, so that releasing the committer
    /// stops the thread (and then releases the pool).
    final class Core: Sendable {
        /// Used by the thread only; let go when it ends, so that the store's release closes
        /// the database (and removes the WAL) before the daemon exits.
        nonisolated(unsafe) private var writer: DatabasePool?
        let maxGroup: Int
        let state = Mutex(State())
        let counters = Mutex<(groups: Int, writes: Int)>((0, 0))
        let wakeup = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let thread = Mutex<pthread_t?>(nil)

        init(writer: DatabasePool, maxGroup: Int) {
            self.writer = writer
            self.maxGroup = maxGroup
        }

        func run() {
            thread.withLock { $0 = pthread_self() }
            defer {
                writer = nil
                finished.signal()
            }
            while true {
                let group = state.withLock { s -> [Slot]? in
                    if s.pending.isEmpty {
                        if s.stopping { return nil }
                        s.idle = true
                        return []
                    }
                    let n = min(maxGroup, s.pending.count)
                    let g = Array(s.pending.prefix(n))
                    s.pending.removeFirst(n)
                    return g
                }
                guard let group else { return }
                if group.isEmpty { wakeup.wait() } else { commit(group) }
            }
        }

        func enqueue(_ slot: Slot) {
            let wake = state.withLock { s -> Bool? in
                // Closed: the thread may be gone, so nobody would ever wake this caller.
                if s.stopping { return nil }
                s.pending.append(slot)
                guard s.idle else { return false }
                s.idle = false
                return true
            }
            guard let wake else {
                slot.finish(.failure(DatabaseError(resultCode: .SQLITE_MISUSE, message: "the store is closed")))
                return
            }
            if wake { wakeup.signal() }
        }

        func stop() {
            let wake = state.withLock { s -> Bool in
                s.stopping = true
                guard s.idle else { return false }
                s.idle = false
                return true
            }
            if wake { wakeup.signal() }
        }

        /// Commits `group` in one transaction, then wakes its callers. The directories the
        /// callers asked for are fsynced first, once each.
        private func commit(_ group: [Slot]) {
            var results: [Result<any Sendable, any Error>]
            var failedSyncs: [String: any Error] = [:]
            for directory in Set(group.compactMap(\.syncDirectory)) {
                do { try Spool.fsyncDirectory(directory) } catch { failedSyncs[directory] = error }
            }
            func syncFailure(_ slot: Slot) -> (any Error)? { slot.syncDirectory.flatMap { failedSyncs[$0] } }
            let members = group.filter { syncFailure($0) == nil }
            do {
                guard let writer else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the store is closed") }
                results = try writer.write { db in
                    members.map { slot in
                        var out: (any Sendable)?
                        do {
                            try db.inSavepoint {
                                out = try slot.work(db)
                                return .commit
                            }
                            return .success(out!)
                        } catch {
                            return .failure(error)
                        }
                    }
                }
            } catch {
                results = Array(repeating: .failure(error), count: members.count)
            }
            counters.withLock { $0.groups += 1; $0.writes += members.count }
            for (slot, r) in zip(members, results) { slot.finish(r) }
            for slot in group { if let error = syncFailure(slot) { slot.finish(.failure(error)) } }
        }
    }

    let core: Core

    /// `maxGroup` bounds one transaction (its memory and how long it holds the writer).
    public init(writer: DatabasePool, maxGroup: Int = 64) {
        let core = Core(writer: writer, maxGroup: max(1, maxGroup))
        self.core = core
        // Named from inside: Foundation does not pass a name set before `start` to the kernel,
        // and `perf` and `top -H` show the kernel's.
        Thread {
            _ = flux_name_this_thread("flux-commit")
            core.run()
        }.start()
    }

    /// Set once the thread's end has been waited for (`finished` is signalled only once).
    let joined = Mutex(false)

    deinit { close() }

    /// Commits what is already queued, then ends the thread and lets go of the database; later
    /// callers get an error at once. Waits for the thread, except on that thread itself: the
    /// last reference to the store can go with a caller's work it has just run.
    public func close() {
        core.stop()
        guard !isCommitterThread else { return }
        joined.withLock { done in
            if !done { core.finished.wait(); done = true }
        }
    }

    /// Runs `work` in the next group's transaction and returns its result once that
    /// transaction has committed. With `directory`, that directory is fsynced before the
    /// transaction (once for all the group's callers that name it); if that fails, `work` does
    /// not run and the caller gets the error.
    public func write<T: Sendable>(syncing directory: String? = nil, _ work: @escaping @Sendable (Database) throws -> T) throws -> T {
        let slot = Slot(syncing: directory) { db in try work(db) }
        core.enqueue(slot)
        slot.semaphore.wait()
        // The slot was made from `work`, whose result is a T.
        return try slot.result.withLock { $0! }.get() as! T
    }

    /// Whether the caller runs on the committer's thread.
    var isCommitterThread: Bool { core.thread.withLock { $0 } == pthread_self() }

    /// Callers waiting for a commit (not counting a group being committed).
    var pendingCount: Int { core.state.withLock { $0.pending.count } }

    /// (groups, writes) committed so far.
    public var stats: (groups: Int, writes: Int) { core.counters.withLock { $0 } }
}
