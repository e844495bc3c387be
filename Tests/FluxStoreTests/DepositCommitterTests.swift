import FluxCore
@testable import FluxStore
import Foundation
import Synchronization
import FluxTestSupport
import Testing

@Suite struct DepositCommitterTests {
    static func request(_ d: Deposit, sign: @escaping @Sendable (DepositOutcome) throws -> ReceiptFiles = { o in
        StoreFixture.receipt(for: o, company: "ACME")
    }) -> DepositCommitRequest {
        DepositCommitRequest(deposit: d, presigned: nil, makeReceipt: sign)
    }

    @Test("one transaction for a group: a failing deposit rolls back alone, a duplicate inside the group is seen")
    func groupIsolatesFailures() throws {
        try withStore { fx in
            let first = try fx.deposit("M1", [ciiInvoice(number: "G-1")])
            let failing = try fx.deposit("M2", [ciiInvoice(number: "G-2")])
            let duplicate = try fx.deposit("M3", [ciiInvoice(number: "G-1")])
            let results = try fx.store.recordDeposits([
                Self.request(first),
                Self.request(failing) { _ in throw FluxError("cdar", "cannot sign") },
                Self.request(duplicate),
            ])
            #expect(results.count == 3)
            let r1 = try results[0].get()
            #expect(r1.outcome.items.map(\.accepted) == [true])
            #expect(throws: FluxError.self) { try results[1].get() }
            let r3 = try results[2].get()
            #expect(r3.outcome.items[0].anomalies.map(\.reasonCode) == ["DOUBLON"])
            #expect(try fx.store.messageExists("M1"))
            #expect(try !fx.store.messageExists("M2"))
            #expect(try fx.store.messageExists("M3"))
            // The rolled-back deposit left no hole in the chain.
            #expect(try fx.store.journalEntries(company: "ACME").map(\.seq) == Array(1...6))
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("deposits arriving during a commit share the next one, and each caller gets its own result")
    func concurrentCallersShareCommits() throws {
        try withStore { fx in
            let committer = DepositCommitter(store: fx.store)
            let n = 24
            let deposits = try (0..<n).map { try fx.deposit("M\($0)", [ciiInvoice(number: "C-\($0)")]) }
            let release = DispatchSemaphore(value: 0)
            let started = DispatchSemaphore(value: 0)
            // The first deposit's receipt waits, inside its transaction, until every other
            // deposit is queued: they must then all go into one second commit.
            let slow = Self.request(deposits[0]) { o in
                started.signal()
                release.wait()
                return StoreFixture.receipt(for: o, company: "ACME")
            }
            let results = Mutex<[Int: RecordedDeposit]>([:])
            let errors = ErrorBox()
            let group = DispatchGroup()
            // Threads of their own: a dispatch queue's pool is sized by the cores and would not
            // start 24 blocked callers at once.
            func spawn(_ body: @escaping @Sendable () -> Void) {
                group.enter()
                Thread { body(); group.leave() }.start()
            }
            spawn {
                do { let r = try committer.record(slow); results.withLock { $0[0] = r } } catch { errors.add(error) }
            }
            started.wait()
            for i in 1..<n {
                spawn {
                    do { let r = try committer.record(Self.request(deposits[i])); results.withLock { $0[i] = r } } catch { errors.add(error) }
                }
            }
            var waited = 0
            while committer.pendingCount < n - 1 && waited < 2_000 { usleep(5_000); waited += 1 }
            #expect(committer.pendingCount == n - 1)
            release.signal()
            #expect(group.wait(timeout: .now() + 30) == .success)
            #expect(errors.all.isEmpty, "\(errors.all)")
            let stats = committer.stats
            #expect(stats.deposits == n)
            #expect(stats.groups == 2)
            let byIndex = results.withLock { $0 }
            for i in 0..<n {
                #expect(byIndex[i]?.outcome.messageID == "M\(i)")
                #expect(byIndex[i]?.receipt.messageID == "M\(i)")
                #expect(try fx.store.messageExists("M\(i)"))
            }
            #expect(try fx.store.journalEntries(company: "ACME").count == 3 * n)
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("a message id already committed returns its stored receipt and records nothing")
    func replayThroughCommitter() throws {
        try withStore { fx in
            let committer = DepositCommitter(store: fx.store)
            let d = try fx.deposit("M1", [ciiInvoice()])
            let first = try committer.record(Self.request(d))
            let again = try committer.record(Self.request(d))
            #expect(!first.outcome.alreadyRecorded)
            #expect(again.outcome.alreadyRecorded)
            #expect(again.receipt.documents == first.receipt.documents)
            #expect(try fx.store.journalEntries(company: "ACME").count == 3)
        }
    }
}
