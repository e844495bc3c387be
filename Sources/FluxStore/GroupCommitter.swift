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
/// No thread of its own. The first caller to find no commit under way leads: it takes what is
/// pending (its own work first), commits it, hands the lead to the oldest caller still waiting,
/// and returns. While one group commits the next one gathers, so groups grow with the load and
/// stay at one when there is none (no added latency when idle).
///
/// Callers block: use it from blocking threads, never from the cooperative pool or an event
/// loop, and never from inside another write (the leader would wait for the writer it holds).
public final class GroupCommitter: Sendable {
    /// One waiting caller: woken either with its result or to lead the next group.
    final class Slot: Sendable {
        enum Wake: Sendable {
            case done(Result<any Sendable, any Error>)
            case lead
        }
        let work: @Sendable (Database) throws -> any Sendable
        let wake = Mutex<Wake?>(nil)
        let semaphore = DispatchSemaphore(value: 0)
        init(_ work: @escaping @Sendable (Database) throws -> any Sendable) { self.work = work }

        func signal(_ w: Wake) {
            wake.withLock { $0 = w }
            semaphore.signal()
        }
    }

    struct State {
        var pending: [Slot] = []
        /// Invariant: `pending` is not empty only while someone leads (or has been asked to).
        var leading = false
    }

    let writer: DatabasePool
    let maxGroup: Int
    let state = Mutex(State())
    let counters = Mutex<(groups: Int, writes: Int)>((0, 0))

    /// `maxGroup` bounds one transaction (its memory and how long it holds the writer).
    public init(writer: DatabasePool, maxGroup: Int = 64) {
        self.writer = writer
        self.maxGroup = max(1, maxGroup)
    }

    /// Runs `work` in the next group's transaction and returns its result once that
    /// transaction has committed.
    public func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) throws -> T {
        let slot = Slot { db in try work(db) }
        let lead = state.withLock { s -> Bool in
            s.pending.append(slot)
            if s.leading { return false }
            s.leading = true
            return true
        }
        if lead { commitGroup() }
        while true {
            slot.semaphore.wait()
            switch slot.wake.withLock({ $0 }) {
            case .done(let result):
                // The slot was made from `work`, whose result is a T.
                return try result.get() as! T
            case .lead, nil:
                commitGroup()
            }
        }
    }

    /// Callers waiting for a commit (not counting a group being committed).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// (groups, writes) committed so far.
    public var stats: (groups: Int, writes: Int) { counters.withLock { $0 } }

    /// Commits the oldest pending work (the leader's own among it: it is the oldest), wakes the
    /// callers, then passes the lead on or drops it.
    private func commitGroup() {
        let group = state.withLock { s -> [Slot] in
            let n = min(maxGroup, s.pending.count)
            let g = Array(s.pending.prefix(n))
            s.pending.removeFirst(n)
            return g
        }
        var results: [Result<any Sendable, any Error>]
        do {
            results = try writer.write { db in
                group.map { slot in
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
            results = Array(repeating: .failure(error), count: group.count)
        }
        counters.withLock { $0.groups += 1; $0.writes += group.count }
        let next = state.withLock { s -> Slot? in
            if let first = s.pending.first { return first }
            s.leading = false
            return nil
        }
        // The next leader is woken before the results: its group starts no later.
        next?.signal(.lead)
        for (slot, r) in zip(group, results) { slot.signal(.done(r)) }
    }
}
