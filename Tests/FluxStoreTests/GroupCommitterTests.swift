import FluxCore
@testable import FluxStore
import Foundation
import FluxTestSupport
import Synchronization
import Testing

/// Starts callers on threads of their own (a dispatch queue's pool is sized by the cores and
/// would not start many blocked callers at once) and waits for them.
final class CallerThreads: Sendable {
    let group = DispatchGroup()
    func spawn(_ body: @escaping @Sendable () -> Void) {
        group.enter()
        Thread { [group] in body(); group.leave() }.start()
    }
    func wait() -> Bool { group.wait(timeout: .now() + 30) == .success }
}

@Suite struct GroupCommitterTests {
    /// Records `first` with a receipt that waits, inside the transaction, until `others` are all
    /// queued behind it, so that they are certain to share the second commit.
    static func recordBehindSlowFirst(_ fx: StoreFixture, first: Deposit, others: [(Deposit, @Sendable (DepositOutcome) throws -> ReceiptFiles)])
        -> (results: [Int: Result<DepositOutcome, any Error>], stats: (groups: Int, writes: Int)) {
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let results = Mutex<[Int: Result<DepositOutcome, any Error>]>([:])
        let threads = CallerThreads()
        threads.spawn {
            let r = Result { try fx.store.recordDeposit(first, now: baseTime) { o in
                started.signal()
                release.wait()
                return StoreFixture.receipt(for: o, company: "ACME")
            }.0 }
            results.withLock { $0[0] = r }
        }
        started.wait()
        for (i, (d, sign)) in others.enumerated() {
            threads.spawn {
                let r = Result { try fx.store.recordDeposit(d, now: baseTime, makeReceipt: sign).0 }
                results.withLock { $0[i + 1] = r }
            }
        }
        var waited = 0
        while fx.store.committer.pendingCount < others.count && waited < 2_000 { usleep(5_000); waited += 1 }
        #expect(fx.store.committer.pendingCount == others.count)
        release.signal()
        #expect(threads.wait())
        return (results.withLock { $0 }, fx.store.committer.stats)
    }

    static let sign: @Sendable (DepositOutcome) throws -> ReceiptFiles = { StoreFixture.receipt(for: $0, company: "ACME") }

    @Test("deposits arriving during a commit share the next one, and each caller gets its own result")
    func concurrentCallersShareCommits() throws {
        try withStore { fx in
            let n = 24
            let deposits = try (0..<n).map { try fx.deposit("M\($0)", [ciiInvoice(number: "C-\($0)")]) }
            let (results, stats) = Self.recordBehindSlowFirst(fx, first: deposits[0], others: deposits.dropFirst().map { ($0, Self.sign) })
            #expect(stats.writes == n)
            #expect(stats.groups == 2)
            for i in 0..<n {
                let outcome = try #require(try results[i]?.get())
                #expect(outcome.messageID == "M\(i)")
                #expect(outcome.items.map(\.accepted) == [true])
                #expect(try fx.store.messageExists("M\(i)"))
            }
            #expect(try fx.store.journalEntries(company: "ACME").count == 3 * n)
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("in one group: a failing deposit rolls back alone, a duplicate of an earlier member is seen")
    func groupIsolatesFailures() throws {
        try withStore { fx in
            let first = try fx.deposit("M0", [ciiInvoice(number: "G-0")])
            let ok = try fx.deposit("M1", [ciiInvoice(number: "G-1")])
            let failing = try fx.deposit("M2", [ciiInvoice(number: "G-2")])
            let duplicate = try fx.deposit("M3", [ciiInvoice(number: "G-1")])
            // The three queue in whatever order their threads reach the committer; the duplicate
            // check only needs M1 committed first, so M3 waits for M1 to be queued.
            let (results, stats) = Self.recordBehindSlowFirst(fx, first: first, others: [
                (ok, Self.sign),
                (failing, { @Sendable _ in throw FluxError("cdar", "cannot sign") }),
            ])
            #expect(stats.groups == 2)
            #expect(throws: FluxError.self) { try results[2]?.get() }
            #expect(try results[1]?.get().items.map(\.accepted) == [true])
            #expect(try !fx.store.messageExists("M2"))
            let again = try fx.store.recordDeposit(duplicate, now: baseTime, makeReceipt: Self.sign).0
            #expect(again.items[0].anomalies.map(\.reasonCode) == ["DOUBLON"])
            // The rolled-back deposit left no hole in the chain: M0, M1, M3, three entries each.
            #expect(try fx.store.journalEntries(company: "ACME").map(\.seq) == Array(1...9))
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("a group whose commit fails records nothing and every caller gets the error")
    func failedCommitFailsTheGroup() throws {
        try withStore { fx in
            let committer = GroupCommitter(writer: fx.store.pool)
            // A deferred foreign-key violation passes each savepoint and fails at COMMIT.
            #expect(throws: (any Error).self) {
                try committer.write { db in
                    try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                    try db.execute(sql: "INSERT INTO batch_invoices (batch_id, invoice_id, position) VALUES ('no-such-batch', 'no-such-invoice', 1)")
                }
            }
            #expect(try fx.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM batch_invoices") } == 0)
            // The committer goes on working after a failed group.
            let d = try fx.deposit("M1", [ciiInvoice()])
            _ = try fx.store.recordDeposit(d, now: baseTime, makeReceipt: Self.sign)
            #expect(try fx.store.messageExists("M1"))
        }
    }

    @Test("a message id already committed returns its stored receipt and records nothing")
    func replayThroughCommitter() throws {
        try withStore { fx in
            let d = try fx.deposit("M1", [ciiInvoice()])
            let first = try fx.store.recordDeposit(d, now: baseTime, makeReceipt: Self.sign)
            let again = try fx.store.recordDeposit(d, now: baseTime, makeReceipt: Self.sign)
            #expect(!first.0.alreadyRecorded)
            #expect(again.0.alreadyRecorded)
            #expect(again.1.documents == first.1.documents)
            #expect(try fx.store.journalEntries(company: "ACME").count == 3)
        }
    }

    @Test("a caller's directory is fsynced before its commit; if that fails its work does not run and the others commit")
    func syncedDirectoryGatesTheWork() throws {
        try withStore { fx in
            let committer = GroupCommitter(writer: fx.store.pool)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gc-sync-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let ran = Mutex(0)
            let count: Int = try committer.write(syncing: dir) { db in
                ran.withLock { $0 += 1 }
                return try Int.fetchOne(db, sql: "SELECT count(*) FROM messages") ?? -1
            }
            #expect(count == 0)
            let error = #expect(throws: FluxError.self) {
                try committer.write(syncing: dir + "/missing") { _ in ran.withLock { $0 += 1 } }
            }
            #expect(error?.code == "fsync-dir")
            #expect(ran.withLock { $0 } == 1)
            // The committer goes on: a deposit naming a good directory commits.
            let d = try fx.deposit("M1", [ciiInvoice()])
            _ = try fx.store.recordDeposit(d, now: baseTime, syncing: dir, makeReceipt: Self.sign)
            #expect(try fx.store.messageExists("M1"))
        }
    }
}
