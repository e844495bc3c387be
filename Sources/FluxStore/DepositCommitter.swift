import Foundation
import Synchronization

/// Group commit for deposits: concurrent callers of `record` share one SQLite transaction, so
/// one WAL fsync makes a whole group durable instead of one fsync (and one turn of the single
/// writer) per deposit. Nothing is acknowledged early: each caller returns only after the
/// transaction holding its deposit has committed.
///
/// No thread of its own. The first caller to find no commit under way leads: it takes what is
/// pending (its own deposit first), commits it, and hands the lead to the oldest caller still
/// waiting, then returns. While one group commits, the next one gathers, so groups grow with
/// the load and stay at one deposit when there is none (no added latency when idle).
public final class DepositCommitter: Sendable {
    /// One waiting caller: woken either with its result or to lead the next group.
    final class Slot: Sendable {
        enum Wake: Sendable {
            case done(Result<RecordedDeposit, any Error>)
            case lead
        }
        let request: DepositCommitRequest
        let wake = Mutex<Wake?>(nil)
        let semaphore = DispatchSemaphore(value: 0)
        init(_ request: DepositCommitRequest) { self.request = request }

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

    let store: SQLiteStore
    let maxGroup: Int
    let state = Mutex(State())
    /// Groups committed and deposits in them, for the metrics and the tests.
    let counters = Mutex<(groups: Int, deposits: Int)>((0, 0))

    /// `maxGroup` bounds one transaction (its memory and how long it holds the writer).
    public init(store: SQLiteStore, maxGroup: Int = 64) {
        self.store = store
        self.maxGroup = max(1, maxGroup)
    }

    /// Records the deposit in the next group commit and returns once that commit is durable.
    /// Blocks the calling thread: call it from the blocking pool, never from the cooperative one.
    public func record(_ request: DepositCommitRequest) throws -> RecordedDeposit {
        let slot = Slot(request)
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
                return try result.get()
            case .lead, nil:
                commitGroup()
            }
        }
    }

    /// Deposits waiting for a commit (not counting a group being committed).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// (groups, deposits) committed so far.
    public var stats: (groups: Int, deposits: Int) { counters.withLock { $0 } }

    /// Commits the oldest pending deposits (the leader's own among them: it is the oldest), wakes
    /// their callers, then passes the lead on or drops it.
    private func commitGroup() {
        let group = state.withLock { s -> [Slot] in
            let n = min(maxGroup, s.pending.count)
            let g = Array(s.pending.prefix(n))
            s.pending.removeFirst(n)
            return g
        }
        var results: [Result<RecordedDeposit, any Error>]
        do {
            results = try store.recordDeposits(group.map(\.request))
        } catch {
            results = Array(repeating: .failure(error), count: group.count)
        }
        counters.withLock { $0.groups += 1; $0.deposits += group.count }
        let next = state.withLock { s -> Slot? in
            if let first = s.pending.first { return first }
            s.leading = false
            return nil
        }
        // The next leader is woken before the results: its group starts gathering no later.
        next?.signal(.lead)
        for (slot, r) in zip(group, results) { slot.signal(.done(r)) }
    }
}
